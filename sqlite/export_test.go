package sqlite

import (
	"database/sql"

	"github.com/paygate/paygate/internal/storetest"
)

// Batcher is db's write path, for storetest's batch tests.
func Batcher(db *DB) storetest.Batcher {
	return storetest.Batcher{Stores: storetest.Of(db.Stores()), Write: db.write, Queue: db.queue}
}

// AutoVacuum returns the database's auto_vacuum mode (0 none, 1 full, 2
// incremental).
func AutoVacuum(db *DB) (int, error) {
	var mode int
	err := db.writer.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode)
	return mode, err
}

// WriterTempStore returns the writer connection's temp_store (2: memory).
func WriterTempStore(db *DB) (int, error) {
	var mode int
	err := db.writer.QueryRow(`PRAGMA temp_store`).Scan(&mode)
	return mode, err
}

// SetSyncHook has f run before each sync of the writer's commits; the sync
// fails with f's error.
func SetSyncHook(db *DB, f func() error) { db.syncHook = f }

// SetCheckpointHook has f told of each checkpoint of the checkpointer: how
// many pages of the log it copied in all, or its error. Set it before the
// first write.
func SetCheckpointHook(db *DB, f func(copied int, err error)) { db.ckptHook = f }

// Writer is db's writer connection, for reading what was written.
func Writer(db *DB) *sql.DB { return db.writer }
