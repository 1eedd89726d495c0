-- Schema shared by SQLite and PostgreSQL: only TEXT and BIGINT columns, times in
-- milliseconds since the epoch, booleans as 0/1.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed sign-ins, per account and per address, for rate limiting across replicas.
CREATE TABLE login_failures (
    subject TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

CREATE TABLE instances (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL UNIQUE,
    region         TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    status         TEXT NOT NULL,
    description    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL
);
CREATE INDEX instances_created ON instances (created_at, id);

CREATE TABLE consumer_groups (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    UNIQUE (instance_id, name_key)
);

CREATE TABLE consumers (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    UNIQUE (instance_id, name_key)
);
CREATE INDEX consumers_list ON consumers (instance_id, created_at, id);

CREATE TABLE consumer_group_members (
    group_id    TEXT NOT NULL REFERENCES consumer_groups (id),
    consumer_id TEXT NOT NULL REFERENCES consumers (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, consumer_id)
);
CREATE INDEX consumer_group_members_consumer ON consumer_group_members (consumer_id);

-- consumer_id makes "a key is bound to at most one consumer" a property of the schema.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    consumer_id TEXT REFERENCES consumers (id),
    enabled     BIGINT NOT NULL DEFAULT 1,
    expires_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    UNIQUE (instance_id, name_key)
);
CREATE INDEX api_keys_consumer ON api_keys (consumer_id);

CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    summary       TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_events_instance ON audit_events (instance_id, created_at);
