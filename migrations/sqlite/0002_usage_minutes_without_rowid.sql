-- On SQLite `usage_minutes` becomes a table WITHOUT ROWID: its rows are stored in the order of
-- its key. A table with a rowid keeps each row twice, in the rowid's B-tree and in its key's
-- index, so every new combination a flush adds was written into two B-trees (three with the
-- index by time that `migrations/shared/0021_usage_minutes_without_time_index.sql` drops).
-- A Python replay of `make bench-authz`'s flushes (12 a minute, each of 175,000 requests spread
-- over 100,000 keys and 10 model APIs, with the writer's settings; the last three of six
-- minutes) took 1,330 ms a flush as it was, 1,270 ms without the rowid but with the index by
-- time, 1,280 ms with the rowid but without that index, and 900 ms with neither.
-- A consumer's minutes, sought by the key, are also read from the table at once, not through
-- its index and then the rowid.
CREATE TABLE usage_minutes_by_key (
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
) WITHOUT ROWID;

INSERT INTO usage_minutes_by_key
    (gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome, requests,
     prompt_tokens, completion_tokens)
SELECT gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome, requests,
       prompt_tokens, completion_tokens
FROM usage_minutes;

DROP TABLE usage_minutes;
ALTER TABLE usage_minutes_by_key RENAME TO usage_minutes;
