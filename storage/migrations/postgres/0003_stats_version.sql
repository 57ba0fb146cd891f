-- Counts every rewrite of a user's stats (each ingest, delete and settings change), so that
-- the web tier can keep what it derived from them in memory and know when it is stale.
ALTER TABLE users ADD COLUMN stats_version BIGINT NOT NULL DEFAULT 0;
