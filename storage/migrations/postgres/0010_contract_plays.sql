-- The contract step of the artifact's migration (0005): every user's streams are in their
-- artifact, so the play rows and the per-region stats documents they replaced go. The start
-- of every process carries over the rows of users not yet carried (the migration before this
-- one has run: `ingest_worker::artifact::carry_over`); this refuses to drop a row that was not
-- carried (the check fails, the transaction rolls back, nothing is lost).
CREATE TEMPORARY TABLE contract_plays_check (left_over BIGINT NOT NULL CHECK (left_over = 0));
INSERT INTO contract_plays_check SELECT COUNT(*) FROM plays;
DROP TABLE contract_plays_check;
DROP TABLE stats;
DROP TABLE plays;
