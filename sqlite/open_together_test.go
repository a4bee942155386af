package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/paygate/paygate/sqlite"
)

// TestOpenTogether: several nodes opening one new database file at once
// all get it (SQLite answers some of them "database is locked" at once,
// without waiting, while the file becomes a WAL database).
func TestOpenTogether(t *testing.T) {
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "p.db")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqlite.Open(path)
				if err != nil {
					errs <- err
					return
				}
				db.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
