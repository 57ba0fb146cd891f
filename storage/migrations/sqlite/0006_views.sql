-- Finished views (the default dashboard, its JSON twin, the rankings, recaps and top artists'
-- pages it links to), computed by the worker once a user's artifact changes and read by any
-- web instance in one small query: the first view of a user no instance has prepared. A row
-- counts only for the data version (users.stats_version) and the settings (time zone,
-- shortest play) it was computed under. `name` is the address it answers (path and query);
-- `body` is deflated text.
CREATE TABLE views (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    tz TEXT NOT NULL,
    min_play_ms BIGINT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (user_id, name)
);
