-- The same as sqlite/migration/0002_jobs_key_chain.sql.

-- Data keys: the id of the key each one succeeds as the active key, '' for
-- the first. Unique, so that of several nodes making the first key (or
-- rotating the same key) at once, one wins. Keys made before this migration
-- have NULL, which never collides.
ALTER TABLE data_keys ADD COLUMN prev_id TEXT COLLATE "C";
CREATE UNIQUE INDEX data_keys_prev ON data_keys (prev_id);

-- Background jobs, each leased to one node at a time (paygate.JobStore).
CREATE TABLE jobs (
	name         TEXT COLLATE "C" PRIMARY KEY,
	holder       TEXT NOT NULL,
	leased_until BIGINT NOT NULL
);
