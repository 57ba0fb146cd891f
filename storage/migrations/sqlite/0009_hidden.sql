-- What a user hides from every view (children's music, sleep sounds, a flatmate's playlists):
-- artists, shows or tracks by name. Nothing is deleted; removing a row shows it again.
CREATE TABLE hidden (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('artist', 'show', 'track')),
    name TEXT NOT NULL,
    by_name TEXT NOT NULL DEFAULT '',
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, name, by_name)
);
