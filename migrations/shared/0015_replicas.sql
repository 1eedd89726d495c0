-- The replicas of the console that are running: each one's check marks itself seen every
-- second. A replica that sees no other one seen lately is alone, and shares its quota counts
-- less often (src/enforce/mod.rs); rows of replicas gone for a day are pruned.
CREATE TABLE replicas (
    replica_id TEXT PRIMARY KEY,
    seen_at    BIGINT NOT NULL
);
