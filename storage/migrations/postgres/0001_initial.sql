CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    tz TEXT NOT NULL DEFAULT 'UTC',
    min_play_ms BIGINT NOT NULL DEFAULT 30000,
    created_ms BIGINT NOT NULL
);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object_key TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    checksum TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'ready', 'failed', 'deleting')),
    reason TEXT,
    summary TEXT,
    parser_version INTEGER NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT
);
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_ms);
CREATE INDEX uploads_by_expiry ON uploads (expires_ms) WHERE expires_ms IS NOT NULL;

-- Plays carry no foreign key and no unique index: an ingest writes hundreds of thousands of
-- rows in one statement, and each per-row check (a foreign-key trigger, a random-order
-- B-tree on the stream digest) multiplied its time several-fold. The worker guarantees what
-- they would: an upload's plays are replaced in the transaction that writes them, are unique
-- by stream digest within the upload (deduplicated in memory first), and are deleted with
-- their upload in one transaction.
CREATE TABLE plays (
    upload_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    stream_key BYTEA NOT NULL,
    end_ms BIGINT NOT NULL,
    ms_played BIGINT NOT NULL,
    kind SMALLINT NOT NULL,
    source SMALLINT NOT NULL,
    title TEXT,
    creator TEXT,
    collection TEXT,
    uri TEXT,
    reason_start TEXT,
    reason_end TEXT,
    shuffle BOOLEAN,
    skipped BOOLEAN,
    offline BOOLEAN,
    incognito BOOLEAN,
    platform SMALLINT NOT NULL,
    country TEXT NOT NULL
);
CREATE INDEX plays_by_upload ON plays (upload_id);

CREATE TABLE stats (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    region TEXT NOT NULL,
    streams BIGINT NOT NULL,
    ms_played BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (user_id, region)
);
-- Stats documents are tens of MB for a lifetime; pglz compressing them took 1.1 s of a 5.6 s
-- ingest (0.23 s stored as they are). lz4 would do both but is not in every build.
ALTER TABLE stats ALTER COLUMN doc SET STORAGE EXTERNAL;

CREATE TABLE queue_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_ms BIGINT NOT NULL,
    visible_at_ms BIGINT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at_ms, id);
