-- A user's streams in one compact artifact (schema::artifact), written by the worker with the
-- stats and read by the web tier in one query instead of one row per play. `version` is the
-- user's stats_version when it was written. The bytes are already deflated: PostgreSQL must
-- not try to compress them again.
CREATE TABLE artifacts (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    format SMALLINT NOT NULL,
    version BIGINT NOT NULL,
    streams BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);
ALTER TABLE artifacts ALTER COLUMN bytes SET STORAGE EXTERNAL;
