-- The number of consumers of each instance, kept in the same transaction as every insert and
-- delete, so the unfiltered consumer list needs no COUNT(*) over the instance's rows.
ALTER TABLE instances ADD COLUMN consumer_count BIGINT NOT NULL DEFAULT 0;
UPDATE instances SET consumer_count = (SELECT COUNT(*) FROM consumers c WHERE c.instance_id = instances.id);
