-- The changed counts are looked up by time and kept only when another replica wrote them:
-- with the replica in the index, a replica's own writes of the last seconds (all of its
-- quotas' counts under load) are passed over in the index instead of each read from the table.
DROP INDEX quota_counts_changed;
CREATE INDEX quota_counts_changed ON quota_counts (changed_at, replica_id);
