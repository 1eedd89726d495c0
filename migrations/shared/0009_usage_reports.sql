-- Token usage reported by the gateway side (`POST /v1/usage`): each report's request ID is
-- remembered per gateway, so a retried batch is not counted twice. Kept as long as the
-- minute buckets (a report older than that is refused anyway).
CREATE TABLE usage_reports (
    gateway_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (gateway_id, request_id)
);
CREATE INDEX usage_reports_at ON usage_reports (at);

-- What a REST token may do: `Account` (what its account may), or `UsageWrite` (only report
-- usage, `POST /v1/usage`).
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'Account';
