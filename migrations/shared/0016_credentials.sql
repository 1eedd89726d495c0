-- A consumer's JWT and HMAC (AK/SK) credentials (API keys stay in api_keys, bound by
-- consumer_id). A consumer with credentials cannot be deleted until they are removed, as
-- with bound keys: the foreign key refuses it.
--
-- Secrets the check must read (an HMAC secret, a JWT HS256 secret) are sealed with the
-- key-encryption key outside the database (src/secrets.rs): `kek1:<key id>:<base64>`. During
-- a rotation's grace period the previous sealed secret also verifies, until
-- previous_expires_at.
CREATE TABLE credentials (
    id                  TEXT PRIMARY KEY,
    instance_id         TEXT NOT NULL REFERENCES instances (id),
    consumer_id         TEXT NOT NULL REFERENCES consumers (id),
    method              TEXT NOT NULL,
    name                TEXT NOT NULL,
    name_key            TEXT NOT NULL,
    -- HMAC: the access key ID a signed request names (unique in the gateway).
    access_key          TEXT,
    -- HMAC: its one algorithm; JWT: the allowed algorithms, comma-separated.
    algorithms          TEXT NOT NULL,
    clock_skew_secs     BIGINT NOT NULL,
    -- JWT: whose tokens (iss), which claim names the consumer and the value it must have.
    issuer              TEXT,
    consumer_claim      TEXT,
    subject             TEXT,
    audience            TEXT,
    max_lifetime_secs   BIGINT,
    -- JWT: PublicKey, JwksUrl or GeneratedSecret.
    key_source          TEXT,
    public_key          TEXT,
    jwks_url            TEXT,
    jwks_refresh_secs   BIGINT,
    secret_sealed       TEXT,
    previous_sealed     TEXT,
    previous_expires_at BIGINT,
    enabled             BIGINT NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    UNIQUE (consumer_id, name_key),
    CHECK (method IN ('Jwt', 'Hmac'))
);
CREATE UNIQUE INDEX credentials_access_key ON credentials (instance_id, access_key);
CREATE INDEX credentials_instance ON credentials (instance_id);
