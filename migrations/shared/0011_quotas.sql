-- Quotas: how many requests (admitted by the check) or tokens (reported over POST /v1/usage)
-- one key, consumer or consumer group may use per day, week or month, counted in a time zone.
-- Exactly one of key_id, consumer_id, group_id is set (subject_id repeats it); a subject has
-- at most one quota per metric and period; a quota goes with its subject. An Admin's reset
-- bumps `generation`: the counts of earlier generations no longer count.
CREATE TABLE quotas (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    subject_id   TEXT NOT NULL,
    key_id       TEXT REFERENCES api_keys (id) ON DELETE CASCADE,
    consumer_id  TEXT REFERENCES consumers (id) ON DELETE CASCADE,
    group_id     TEXT REFERENCES consumer_groups (id) ON DELETE CASCADE,
    metric       TEXT NOT NULL,
    period       TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    warn_percent BIGINT NOT NULL,
    generation   BIGINT NOT NULL DEFAULT 0,
    reset_at     BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    CHECK ((CASE WHEN key_id IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN consumer_id IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1),
    CHECK (metric IN ('requests', 'tokens')),
    CHECK (period IN ('day', 'week', 'month')),
    CHECK (amount > 0),
    CHECK (warn_percent BETWEEN 1 AND 100),
    UNIQUE (subject_id, metric, period)
);
CREATE INDEX quotas_list ON quotas (instance_id, created_at, id);
CREATE INDEX quotas_key ON quotas (key_id);
CREATE INDEX quotas_consumer ON quotas (consumer_id);
CREATE INDEX quotas_group ON quotas (group_id);

-- What counts against a quota in one period (starting at `period_start`, ms) of one
-- generation: each replica's own admitted requests (its own row, set at every share), and
-- the tokens reported (`replica_id` 'reported', added to).
CREATE TABLE quota_counts (
    quota_id     TEXT NOT NULL,
    generation   BIGINT NOT NULL,
    period_start BIGINT NOT NULL,
    replica_id   TEXT NOT NULL,
    requests     BIGINT NOT NULL DEFAULT 0,
    tokens       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (quota_id, generation, period_start, replica_id)
);
CREATE INDEX quota_counts_period ON quota_counts (period_start);
