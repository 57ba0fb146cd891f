-- The built-in sample history ("try it with sample data") is marked, so that it stays out of
-- "all my uploads" once real data arrives and the pages can label it.
ALTER TABLE uploads ADD COLUMN sample BOOLEAN NOT NULL DEFAULT FALSE;
