package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

// MustOpen opens the database at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// Stores returns every store on db.
func Stores(db *sqlite.DB) storetest.Stores { return storetest.Of(db.Stores()) }

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return Stores(MustOpen(t, filepath.Join(t.TempDir(), "test.db")))
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	p := storetest.NewPayment(t, m.ID, storetest.Base)
	storetest.MustCreatePayment(t, s.Payments, p)
	first, err := db.Migrations(t.Context())
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	want := storetest.MigrationFiles(t)
	if !slices.Equal(first, want) {
		t.Errorf("Migrations after the first Open: got %v, want %v", first, want)
	}

	db = MustOpen(t, path) // would fail if a migration ran twice
	s = Stores(db)
	got, err := db.Migrations(t.Context())
	if err != nil {
		t.Fatalf("Migrations after reopening: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Migrations after reopening: got %v, want %v", got, want)
	}
	if _, err := s.Merchants.Merchant(t.Context(), m.ID); err != nil {
		t.Errorf("Merchant after reopening: %v", err)
	}
	storetest.CheckEqual(t, "Payment after reopening", storetest.MustPayment(t, s.Payments, m.ID, p.ID), p)
}

// One write of a batch fails; its neighbours in the same commit do not.
func TestGroupCommitPartialFailure(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	storetest.GroupCommitPartialFailure(t, sqlite.Batcher(db))
}

func TestWriteAfterClose(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	storetest.WriteAfterClose(t, Stores(db), db.Close)
}

// Writes racing Close either succeed, and are then durable, or fail; none hangs.
func TestCloseWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	storetest.CloseWhileWriting(t, Stores(db), db.Close, func() storetest.Stores { return Stores(MustOpen(t, path)) })
}

func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("got mode %v, want 0600", mode)
	}
}

// A path with '#', '?' or '%' in it opens the file it names (SQLite reads
// them as a fragment, a query and an escape in a URI): two databases in
// directories that differ after a '#' stay two.
func TestOpenPathWithURICharacters(t *testing.T) {
	root := t.TempDir()
	var paths []string
	for _, dir := range []string{"seed#01", "seed#02", "a?b%41"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, dir, "paygate.db")
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		applied := len(db.Applied)
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("open %s: the file is not there: %v", path, err)
		}
		if applied == 0 {
			t.Errorf("open %s: no migration applied: it opened a database made before", path)
		}
		paths = append(paths, path)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 3 {
		t.Errorf("%s holds %d entries, want the 3 directories only", root, len(entries))
	}
}
