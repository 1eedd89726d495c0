-- `usage_minutes` loses its index by consumer (0012). A flush adds the rows of one minute,
-- in key order: in the table's key (gateway, minute, environment, consumer, …) they fall
-- together at its end, but in an index by (gateway, consumer, minute) each lands at the end
-- of its consumer's rows, one page per consumer across 48 hours of minutes: a flush of
-- 150,000 new combinations rewrote about as many pages of that index as it has rows, and
-- took two to three times as long as without it. One consumer's minutes are read by the
-- table's key instead, seeking each minute and environment its gateway has totals for in
-- the range (`store::usage::read::source`).
DROP INDEX usage_minutes_consumer;
