-- Enforcement (the proxy's authorization check): consumers can be disabled, a key can be
-- rotated with a grace period during which its previous value still works, and every
-- instance carries a change counter, bumped in the transaction of each change, that the
-- in-memory enforcement snapshot follows.
ALTER TABLE consumers ADD COLUMN enabled BIGINT NOT NULL DEFAULT 1;
ALTER TABLE instances ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN previous_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_expires_at BIGINT;
CREATE UNIQUE INDEX api_keys_previous_hash ON api_keys (previous_hash);
