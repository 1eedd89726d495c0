-- The audit trail doubles as each instance's change journal for enforcement: an entry
-- carries the instance revision its change produced and, where the changed resource is not
-- itself what enforcement re-reads (an authorization rule), the principal it concerns.
ALTER TABLE audit_events ADD COLUMN revision BIGINT;
ALTER TABLE audit_events ADD COLUMN subject_id TEXT;
CREATE INDEX audit_events_revision ON audit_events (instance_id, revision);
