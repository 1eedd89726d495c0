-- Each consumer's requests, allowed requests and tokens over the hourly buckets of the Usage
-- page's three ranges, ending where the roll-up has come to (`usage_rollup.rolled_until`, H):
-- span 1, the 24 hours before H; span 7, the 168 hours before H; span 30, the 30 whole days
-- before H's day and H's day so far (all UTC). `hour_rows` counts the hourly rows summed, so
-- that a consumer leaves a window with its last row. The page's top consumers are read from
-- here and the minutes after H, not summed from every hourly row of the range (3 million for
-- 100,000 consumers over 30 days). The roll-up, late additions and pruning keep it
-- (`store::usage::windows`).
CREATE TABLE usage_consumer_windows (
    gateway_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    consumer_id TEXT NOT NULL,
    hour_rows BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    allowed BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    PRIMARY KEY (gateway_id, span, consumer_id)
);
CREATE INDEX usage_consumer_windows_top
    ON usage_consumer_windows (gateway_id, span, requests DESC, tokens DESC, consumer_id);

INSERT INTO usage_consumer_windows
    (gateway_id, span, consumer_id, hour_rows, requests, allowed, tokens)
SELECT h.gateway_id, s.span, h.consumer_id, COUNT(*), CAST(SUM(h.requests) AS BIGINT),
       CAST(SUM(CASE WHEN h.outcome = 'allowed' THEN h.requests ELSE 0 END) AS BIGINT),
       CAST(SUM(h.prompt_tokens + h.completion_tokens) AS BIGINT)
FROM usage_hours h
JOIN usage_rollup r ON r.id = 1
JOIN (SELECT 1 AS span UNION ALL SELECT 7 UNION ALL SELECT 30) s ON TRUE
WHERE h.at < r.rolled_until
  AND h.at >= CASE s.span
      WHEN 1 THEN r.rolled_until - 86400000
      WHEN 7 THEN r.rolled_until - 604800000
      ELSE r.rolled_until - r.rolled_until % 86400000 - 2592000000
  END
GROUP BY h.gateway_id, s.span, h.consumer_id;
