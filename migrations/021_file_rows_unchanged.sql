-- The rows of a taken file that changed nothing: an equal or older version of
-- a registration or certificate. Until now rows_applied counted them too, so
-- the report's file list said "2 rows applied" where the run printed
-- "1 applied, 1 unchanged". Files taken before this migration keep that sum
-- in rows_applied and show 0 unchanged.
ALTER TABLE files ADD COLUMN rows_unchanged INTEGER NOT NULL DEFAULT 0;
