-- One JWT credential per issuer, consumer claim and value in a gateway: a token's unverified
-- `iss` and claim pick the credential that verifies it, so two credentials claiming the same
-- tokens (of two consumers) would leave the choice to whichever was found first. HMAC rows
-- hold NULL in these columns, and NULLs never collide in a unique index (SQLite and
-- PostgreSQL alike).
CREATE UNIQUE INDEX credentials_jwt_subject ON credentials (instance_id, issuer, consumer_claim, subject);
