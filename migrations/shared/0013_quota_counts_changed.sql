-- When a quota count was last written (ms, by the writer's clock): each replica reads back
-- only the counts the others changed since its last exchange (and all of them now and then).
ALTER TABLE quota_counts ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX quota_counts_changed ON quota_counts (changed_at);
