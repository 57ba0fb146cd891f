-- Share links: a read-only link to one view of one user's data. The link's token is kept
-- only as its SHA-256 (like sessions'), the uploads the view was made of are frozen at
-- creation (a later upload never shows through a link), and the link dies with its user.
CREATE TABLE shares (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    view TEXT NOT NULL,
    query TEXT NOT NULL,
    uploads TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX shares_by_user ON shares (user_id, created_ms);
