-- Usage: what `/authz/check` decided, counted in memory by each replica and added here in
-- batches (several replicas add up), per gateway, environment, consumer, key, model API,
-- time bucket and outcome (`allowed`, or the reason of a denial); tokens reported by the
-- gateway side are added to the same rows. A dimension the decision did not reach (a
-- request without a valid key names no consumer) is stored as ''. Minute buckets are kept
-- 48 hours and hourly ones 400 days by default; the server prunes older ones. `at` is the
-- bucket's start in milliseconds since the epoch (UTC).
CREATE TABLE usage_minutes (
    gateway_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    environment_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    api_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome)
);
CREATE INDEX usage_minutes_at ON usage_minutes (at);

CREATE TABLE usage_hours (
    gateway_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    environment_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    api_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome)
);
CREATE INDEX usage_hours_at ON usage_hours (at);
CREATE INDEX usage_hours_consumer ON usage_hours (gateway_id, consumer_id, at);
