-- Rate limits: requests per second and/or per minute for one key, consumer or consumer group
-- (a group's limit is shared by its members). Exactly one of key_id, consumer_id, group_id
-- is set (subject_id repeats it, for the one-limit-per-subject rule and for lookups); a
-- limit goes with its subject. `policy` is `local` (each replica counts on its own, exactly)
-- or `cluster` (replicas share their counts through `rate_limit_counts`).
CREATE TABLE rate_limits (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    subject_id  TEXT NOT NULL UNIQUE,
    key_id      TEXT REFERENCES api_keys (id) ON DELETE CASCADE,
    consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE,
    group_id    TEXT REFERENCES consumer_groups (id) ON DELETE CASCADE,
    per_second  BIGINT,
    per_minute  BIGINT,
    policy      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    CHECK ((CASE WHEN key_id IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN consumer_id IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1),
    CHECK (per_second IS NOT NULL OR per_minute IS NOT NULL),
    CHECK (policy IN ('local', 'cluster'))
);
CREATE INDEX rate_limits_list ON rate_limits (instance_id, created_at, id);
CREATE INDEX rate_limits_key ON rate_limits (key_id);
CREATE INDEX rate_limits_consumer ON rate_limits (consumer_id);
CREATE INDEX rate_limits_group ON rate_limits (group_id);

-- Cluster limits: what each replica admitted under a limit in one window (a second or a
-- minute, `window_ms`, starting at `started_at`). Each replica writes only its own rows and
-- reads the others' sums; rows of past windows are pruned.
CREATE TABLE rate_limit_counts (
    limit_id   TEXT NOT NULL,
    window_ms  BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    replica_id TEXT NOT NULL,
    requests   BIGINT NOT NULL,
    PRIMARY KEY (limit_id, window_ms, started_at, replica_id)
);
CREATE INDEX rate_limit_counts_started ON rate_limit_counts (started_at);
