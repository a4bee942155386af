package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/paygate/paygate/internal/sqlstore"
)

// HoldWriter occupies one writer with a write that waits until release is
// called, so that writes queued meanwhile go into its next batch. With
// Options.Writers = 1 that batch takes every write queued.
func HoldWriter(tb testing.TB, db *DB) (release func()) {
	tb.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.write(context.Background(), &sqlstore.Write{Then: func(sqlstore.Tx) error {
			select {
			case <-started: // run again after a failure beside it: do not block twice
			default:
				close(started)
				<-unblock
			}
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

// QueuedWrites returns how many writes wait for a writer.
func QueuedWrites(db *DB) int { return db.queue.Len() }

// Commits returns how many transactions the writers have committed.
func Commits(db *DB) int64 { return db.commits.Load() }
