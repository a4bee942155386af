package sqlite

import (
	"context"
	"sync"
	"testing"

	"github.com/paygate/paygate/internal/sqlstore"
)

// HoldWriter occupies the writer goroutine with a write that waits until
// release is called, so that writes queued meanwhile all go into the next
// batch.
func HoldWriter(tb testing.TB, db *DB) (release func()) {
	tb.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.write(context.Background(), &sqlstore.Write{Then: func(sqlstore.Tx) error {
			close(started)
			<-unblock
			return nil
		}})
	}()
	<-started
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			if err := <-done; err != nil {
				tb.Errorf("held write: %v", err)
			}
		})
	}
	tb.Cleanup(release)
	return release
}

// QueuedWrites returns how many writes wait for the writer.
func QueuedWrites(db *DB) int { return db.queue.Len() }

// AutoVacuum returns the database's auto_vacuum mode (0 none, 1 full, 2
// incremental).
func AutoVacuum(db *DB) (int, error) {
	var mode int
	err := db.writer.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode)
	return mode, err
}
