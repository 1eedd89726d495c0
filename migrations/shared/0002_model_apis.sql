-- Environments, model APIs and their deployments, consumer authorization rules, and the
-- REST API's bearer tokens. Same dialect rules as 0001: TEXT and BIGINT only.

CREATE TABLE environments (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    alias       TEXT NOT NULL,
    description TEXT NOT NULL,
    is_default  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    UNIQUE (instance_id, name_key)
);

-- resource_no is the API's numeric resource ID (`resourceId` in the seed's rule items).
CREATE TABLE model_apis (
    id             TEXT PRIMARY KEY,
    instance_id    TEXT NOT NULL REFERENCES instances (id),
    resource_no    BIGINT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    base_path      TEXT NOT NULL,
    ai_protocols   TEXT NOT NULL,
    model_category TEXT NOT NULL,
    description    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    UNIQUE (instance_id, name_key),
    UNIQUE (instance_id, base_path)
);
CREATE INDEX model_apis_list ON model_apis (instance_id, created_at, id);

CREATE TABLE api_deployments (
    api_id         TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL REFERENCES environments (id),
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (api_id, environment_id)
);
CREATE INDEX api_deployments_environment ON api_deployments (environment_id);

-- A rule grants exactly one principal (a consumer or a consumer group) one API in one
-- environment; principal_id repeats whichever of the two is set so one rule per grant is
-- a unique index.
CREATE TABLE authorization_rules (
    id             TEXT PRIMARY KEY,
    instance_id    TEXT NOT NULL REFERENCES instances (id),
    principal_type TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    consumer_id    TEXT REFERENCES consumers (id),
    group_id       TEXT REFERENCES consumer_groups (id),
    api_id         TEXT NOT NULL REFERENCES model_apis (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    expire_mode    TEXT NOT NULL,
    expire_at      BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    CHECK ((consumer_id IS NULL) <> (group_id IS NULL)),
    CHECK (expire_mode = 'LongTerm' OR expire_at IS NOT NULL),
    UNIQUE (principal_id, api_id, environment_id)
);
CREATE INDEX authorization_rules_consumer ON authorization_rules (consumer_id, created_at, id);
CREATE INDEX authorization_rules_group ON authorization_rules (group_id, created_at, id);
CREATE INDEX authorization_rules_api ON authorization_rules (api_id);
CREATE INDEX authorization_rules_environment ON authorization_rules (environment_id);
CREATE INDEX authorization_rules_list ON authorization_rules (instance_id, created_at, id);

-- Bearer tokens for /v1, per account; only the SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (account_id, name_key)
);
