-- The consumers' windows (0018) no longer count their hourly rows. Counts that arrive for an
-- hour already rolled up (a flush retried after an outage, a late token report) are added to
-- the windows as they are to the hourly rows, not summed again from each consumer's hourly
-- rows: a late flush of 100,000 consumers read about 3 million rows for that. A consumer now
-- leaves a window when its counts there come to zero: no hourly row counts nothing (a delta
-- of zeros is not written; see `store::usage::add_in`), so zero counts mean no rows.
ALTER TABLE usage_consumer_windows DROP COLUMN hour_rows;
