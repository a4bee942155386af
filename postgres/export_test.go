package postgres

import "github.com/paygate/paygate/internal/storetest"

// Batcher is db's write path, for storetest's batch tests.
func Batcher(db *DB) storetest.Batcher {
	return storetest.Batcher{Stores: storetest.Of(db.Stores()), Write: db.write, Queue: db.queue, Commits: db.commits.Load}
}

// Commits returns how many transactions the writers have committed.
func Commits(db *DB) int64 { return db.commits.Load() }
