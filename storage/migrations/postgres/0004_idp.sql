-- Accounts held by an external identity provider (Cognito). A user row is found by the
-- provider's stable id for the person (`sub`); rows of local accounts and anonymous visitors
-- have none. Each session keeps the provider's tokens, encrypted under a key derived from
-- the session's own token, which the database does not hold (only its SHA-256).
ALTER TABLE users ADD COLUMN idp_subject TEXT;
CREATE UNIQUE INDEX users_by_idp_subject ON users (idp_subject);
ALTER TABLE sessions ADD COLUMN idp_tokens TEXT;
