-- The global audit log lists newest first across instances.
CREATE INDEX audit_events_created ON audit_events (created_at, id);
