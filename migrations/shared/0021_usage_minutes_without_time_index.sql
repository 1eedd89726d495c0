-- `usage_minutes` loses its index by time (0008). Every row a flush adds was written into it
-- as well as into the table's key, and nothing needs it: the charts seek a gateway's minutes
-- by the key (gateway, minute, …), and the roll-up and pruning, which ask for a range of
-- minutes of every gateway, now seek each gateway's minutes by the key too, the gateways
-- being those of the gateway totals (`usage_gateway_minutes`) in that range: a flush writes
-- a gateway's total for each minute it adds a row to, and pruning removes both alike
-- (`store::usage::roll_up`, `store::usage::prune`). On SQLite the table is also rebuilt
-- without its rowid (`migrations/sqlite/0002_usage_minutes_without_rowid.sql`).
DROP INDEX usage_minutes_at;
