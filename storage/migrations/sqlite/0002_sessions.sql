-- Server-side sessions for the web tier. The browser holds a random token; the database
-- holds only its SHA-256, so a copy of the database cannot be used to sign in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);

-- Anonymous visitors are deleted with their uploads when this passes.
ALTER TABLE users ADD COLUMN expires_ms BIGINT;
CREATE INDEX users_by_expiry ON users (expires_ms) WHERE expires_ms IS NOT NULL;
