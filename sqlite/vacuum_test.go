package sqlite_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

func checkAutoVacuum(tb testing.TB, db *sqlite.DB, what string) {
	tb.Helper()
	mode, err := sqlite.AutoVacuum(db)
	if err != nil {
		tb.Fatalf("%s: auto_vacuum: %v", what, err)
	}
	if mode != 2 {
		tb.Errorf("%s: auto_vacuum is %d, want 2 (incremental)", what, mode)
	}
}

func TestAutoVacuumNew(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "new.db"))
	checkAutoVacuum(t, db, "new database")
	if mode, err := sqlite.WriterTempStore(db); err != nil || mode != 2 {
		t.Errorf("writer's temp_store: %d, %v; want 2 (memory: statement journals stay off the disk)", mode, err)
	}
}

// TestAutoVacuumExisting opens a database made without auto-vacuum (as
// every database was before): it is converted, and its data kept.
func TestAutoVacuumExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.MustCreateMerchant(t, db.Stores().Merchants, "Acme")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", sqlite.URI(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	var mode int
	for _, q := range []string{`PRAGMA auto_vacuum = NONE`, `VACUUM`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 0 {
		t.Fatalf("old database: auto_vacuum %d, %v; want 0", mode, err)
	}
	raw.Close()

	db = MustOpen(t, path)
	checkAutoVacuum(t, db, "old database after Open")
	// The conversion's VACUUM ran with temporary files on disk; the
	// writer keeps its own in memory again after it.
	if mode, err := sqlite.WriterTempStore(db); err != nil || mode != 2 {
		t.Errorf("writer's temp_store after the conversion: %d, %v; want 2 (memory)", mode, err)
	}
	if _, err := db.Stores().Merchants.Merchant(t.Context(), m.ID); err != nil {
		t.Errorf("Merchant after the conversion: %v", err)
	}
}

// fileSize is the size of the database and its write-ahead log after a
// checkpoint.
func fileSize(tb testing.TB, db *sqlite.DB) int64 {
	tb.Helper()
	if err := db.Checkpoint(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, p := range []string{db.Path, db.Path + "-wal"} {
		fi, err := os.Stat(p)
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestPurgeShrinksFile checks that purged idempotency records give their
// space back to the file system.
func TestPurgeShrinksFile(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	s := db.Stores().Idempotency
	empty := fileSize(t, db)
	const n = 3000
	body := bytes.Repeat([]byte("x"), 1000)
	for i := range n {
		rec := &paygate.IdempotencyRecord{MerchantID: "acct_1", Key: fmt.Sprintf("ik_%040d", i), RequestHash: "hash",
			CreatedAt: storetest.Base, LockedAt: storetest.Base}
		if _, err := s.BeginIdempotent(t.Context(), rec, storetest.Base); err != nil {
			t.Fatal(err)
		}
		rec.Done, rec.Status, rec.Body = true, 200, body
		if err := s.CompleteIdempotent(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	full := fileSize(t, db)
	if got, err := s.PurgeIdempotent(t.Context(), storetest.Base.Add(time.Second)); err != nil || got != n {
		t.Fatalf("PurgeIdempotent: got %d, %v; want %d", got, err, n)
	}
	purged := fileSize(t, db)
	t.Logf("file: %d bytes empty, %d with %d records, %d after purging them", empty, full, n, purged)
	if purged-empty > (full-empty)/20 {
		t.Errorf("file after purging every record: %d bytes, %d more than empty; want at most 5%% of the %d the records took",
			purged, purged-empty, full-empty)
	}
}
