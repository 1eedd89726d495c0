-- Sessions end after an idle period as well as at their absolute expiry; API tokens expire.
-- Same dialect rules as 0001: TEXT and BIGINT only.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Tokens made before expiry existed get the default lifetime (90 days) from their creation.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
UPDATE api_tokens SET expires_at = created_at + 7776000000;

CREATE INDEX login_failures_age ON login_failures (at);
