-- Usage rollups. A flush writes minute buckets, and the same summed without the consumer
-- and key into `usage_gateway_minutes` (what a whole gateway's charts read: a few rows a
-- minute however many consumers call). Once an hour is over, one replica adds its minutes
-- up into `usage_hours` and `usage_gateway_hours`, and moves `rolled_until` past it. Counts that arrive later for an hour
-- already rolled up (a late token report, a flush retried after an outage) are added to the
-- minute and the hourly buckets at once. Readers take hours before `rolled_until` from the
-- hourly tables and the rest from the minutes.
CREATE TABLE usage_gateway_hours (
    gateway_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    environment_id TEXT NOT NULL,
    api_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway_id, at, environment_id, api_id, outcome)
);
CREATE INDEX usage_gateway_hours_at ON usage_gateway_hours (at);

CREATE TABLE usage_gateway_minutes (
    gateway_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    environment_id TEXT NOT NULL,
    api_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway_id, at, environment_id, api_id, outcome)
);
CREATE INDEX usage_gateway_minutes_at ON usage_gateway_minutes (at);

INSERT INTO usage_gateway_minutes
    (gateway_id, at, environment_id, api_id, outcome, requests, prompt_tokens, completion_tokens)
SELECT gateway_id, at, environment_id, api_id, outcome,
       CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT),
       CAST(SUM(completion_tokens) AS BIGINT)
FROM usage_minutes
GROUP BY gateway_id, at, environment_id, api_id, outcome;

INSERT INTO usage_gateway_hours
    (gateway_id, at, environment_id, api_id, outcome, requests, prompt_tokens, completion_tokens)
SELECT gateway_id, at, environment_id, api_id, outcome,
       CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT),
       CAST(SUM(completion_tokens) AS BIGINT)
FROM usage_hours
GROUP BY gateway_id, at, environment_id, api_id, outcome;

-- One row: every minute bucket before `rolled_until` (ms since the epoch, an hour's start)
-- is in the hourly tables. Until now flushes wrote both, so the hours with data are rolled up.
CREATE TABLE usage_rollup (
    id BIGINT PRIMARY KEY,
    rolled_until BIGINT NOT NULL
);
INSERT INTO usage_rollup (id, rolled_until)
SELECT 1, COALESCE(MAX(at) + 3600000, 0) FROM usage_hours;

-- One consumer's usage (its details panel, a filtered Usage page) reads the minutes of the
-- hours not yet rolled up by consumer, as it reads `usage_hours` (`usage_hours_consumer`).
CREATE INDEX usage_minutes_consumer ON usage_minutes (gateway_id, consumer_id, at);
