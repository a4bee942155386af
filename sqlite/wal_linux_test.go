//go:build linux && (amd64 || arm64)

package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/sqlitewal"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

// walChild, set to "write" or "read" with the database's path after a
// colon, makes TestWALChild the child process of the tests below.
const walChild = "PAYGATE_SQLITE_TEST_WAL_CHILD"

// startWALChild runs TestWALChild in a child process of this test binary,
// in mode on the database at path, and returns it with its output.
func startWALChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWALChild$")
	cmd.Env = append(os.Environ(), walChild+"="+mode+":"+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out), &stderr
}

// TestWALChild is the child process of TestWALKilledWriter (mode write:
// it makes payments from 8 goroutines, printing each one's id once it is
// written, until it is killed) and of TestWALReaderInOtherProcess (mode
// read: for 2 s it reads the database another process writes, checking
// its integrity in each read, and prints what it found). Without its
// variable it does nothing.
func TestWALChild(t *testing.T) {
	spec := os.Getenv(walChild)
	if spec == "" {
		t.Skip("the child of the WAL tests")
	}
	mode, path, _ := strings.Cut(spec, ":")
	switch mode {
	case "write":
		db := MustOpen(t, path)
		s := db.Stores()
		m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
		var out sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					p := storetest.NewPayment(t, m.ID, time.Now())
					if err := s.Payments.CreatePayment(context.Background(), p); err != nil {
						fmt.Println("error:", err)
						return
					}
					out.Lock()
					fmt.Println("written", p.ID)
					out.Unlock()
				}
			})
		}
		wg.Wait()
	case "read":
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fmt.Println("reading")
		checks, last := 0, 0
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); checks++ {
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			var n int
			var ok string
			if err := tx.QueryRow(`SELECT count(*) FROM payments`).Scan(&n); err != nil {
				fmt.Println("fail: count:", err)
				return
			}
			if err := tx.QueryRow(`PRAGMA integrity_check(1)`).Scan(&ok); err != nil || ok != "ok" {
				fmt.Printf("fail: integrity_check with %d payments: %q %v\n", n, ok, err)
				return
			}
			tx.Rollback()
			if n < last {
				fmt.Printf("fail: %d payments after %d\n", n, last)
				return
			}
			last = n
		}
		fmt.Printf("done: %d checks, %d payments last seen\n", checks, last)
	}
}

// TestWALGathered: a commit's frames reach the log in one write call, not
// two per frame, and what was written reads back after a reopen.
func TestWALGathered(t *testing.T) {
	if !sqlitewal.On() {
		t.Fatal("the log's writes are not gathered (hooks not in)")
	}
	path := filepath.Join(t.TempDir(), "p.db")
	db := MustOpen(t, path)
	s := db.Stores()
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	calls, writes := sqlitewal.Counts()
	var ids []string
	for range 20 {
		p := storetest.NewPayment(t, m.ID, time.Now())
		if err := s.Payments.CreatePayment(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	calls2, writes2 := sqlitewal.Counts()
	dc, dw := calls2-calls, writes2-writes
	// 20 commits, one after the other, each of at least a dozen pages
	// (the payment and its indexes): a frame is two writes.
	if dc < 20 || dc > 25 || dw < 20*2*10 {
		t.Errorf("20 commits: %d write calls for %d writes asked, want 20-25 calls for at least 400", dc, dw)
	}
	t.Logf("20 commits: %d write calls for %d writes asked", dc, dw)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = MustOpen(t, path)
	for _, id := range ids {
		if _, err := db.Stores().Payments.Payment(t.Context(), m.ID, id); err != nil {
			t.Errorf("payment %s after reopening: %v", id, err)
		}
	}
}

// TestWALReaderInOtherProcess: another process reading the database while
// this one writes it never finds a commit whose frames are not all in the
// log yet (it reads the log's index in shared memory, then the frames from
// the file): every read it makes passes SQLite's integrity check.
func TestWALReaderInOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db := MustOpen(t, path)
	s := db.Stores()
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	_, out, stderr := startWALChild(t, "read", path)
	if !out.Scan() || out.Text() != "reading" {
		t.Fatalf("child: %q; stderr:\n%s", out.Text(), stderr)
	}
	done := make(chan string, 1)
	go func() {
		for out.Scan() {
			if l := out.Text(); strings.HasPrefix(l, "done:") || strings.HasPrefix(l, "fail:") {
				done <- l
				return
			}
		}
		done <- "no result; stderr:\n" + stderr.String()
	}()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var made sync.Map
	for g := range 16 {
		wg.Go(func() {
			for i := 0; i < 1000 && ctx.Err() == nil; i++ {
				p := storetest.NewPayment(t, m.ID, time.Now())
				if err := s.Payments.CreatePayment(ctx, p); err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				made.Store(g, i+1)
			}
		})
	}
	var res string
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		res = "child did not finish in 30 s"
	}
	cancel()
	wg.Wait()
	if !strings.HasPrefix(res, "done:") {
		t.Fatalf("reader in another process: %s", res)
	}
	t.Log(res)
}

// TestWALKilledWriter kills (SIGKILL) a process making payments from 8
// goroutines, its log's writes gathered, and opens the database after it:
// the file passes SQLite's integrity check and holds every payment the
// process had been told was written.
func TestWALKilledWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	cmd, out, stderr := startWALChild(t, "write", path)
	var written []string
	deadline := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for out.Scan() {
		id, ok := strings.CutPrefix(out.Text(), "written ")
		if !ok {
			if strings.HasPrefix(out.Text(), "error:") {
				t.Fatalf("child: %s", out.Text())
			}
			continue
		}
		written = append(written, id)
		if len(written) == 600 {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if len(written) < 600 {
		t.Fatalf("child wrote %d payments before it stopped; stderr:\n%s", len(written), stderr)
	}
	db := MustOpen(t, path)
	var ok string
	if err := sqlite.Writer(db).QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check after the kill: %q %v", ok, err)
	}
	var n int
	if err := sqlite.Writer(db).QueryRow(`SELECT count(*) FROM payments`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range written {
		var got string
		if err := sqlite.Writer(db).QueryRow(`SELECT id FROM payments WHERE id = ?`, id).Scan(&got); err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of the %d payments written before the kill are not in the file", missing, len(written))
	}
	t.Logf("%d payments told written before the kill, %d in the file", len(written), n)
}

// copyDB copies the database at path and its log, as they are in the file
// system now (what a crash of this process would leave), and returns the
// copy's path.
func copyDB(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// checkDB opens the database at path on a connection of its own and
// checks its integrity and how many rows t holds.
func checkDB(t *testing.T, what, path string, want int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	var n int
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		if len(ok) > 300 {
			ok = ok[:300] + "..."
		}
		t.Fatalf("%s: integrity_check: %q %v", what, ok, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != want {
		t.Fatalf("%s: %d rows (%v), want %d", what, n, err, want)
	}
}

// TestWALLargeTransactions: transactions larger than the writer's page
// cache (its pages spilled to the log before the commit, some changed
// again in place, which makes SQLite rewrite the frames' checksums) and
// larger than what is held at most (4 MB), committed or rolled back, with
// the log started over by another connection in between: what another
// connection reads, and what a crash would leave (the files copied while
// open), always holds every commit whole and nothing else.
func TestWALLargeTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(20)&_pragma=wal_autocheckpoint(0)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)`)
	rows := 0
	big := func(commit bool) {
		t.Helper()
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for range 1500 { // about 6 MB of pages
			if _, err := tx.Exec(`INSERT INTO t (b) VALUES (randomblob(4000))`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Exec(`UPDATE t SET b = randomblob(4000) WHERE id % 7 = 0`); err != nil {
			t.Fatal(err)
		}
		if commit {
			err, rows = tx.Commit(), rows+1500
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	big(true)
	checkDB(t, "after a large commit", path, rows)
	checkDB(t, "a crash after a large commit", copyDB(t, path), rows)

	big(false)
	checkDB(t, "after a large rollback", path, rows)
	// Another connection starts the log over; this one commits after.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var busy, logged, copied int
	if err := other.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &copied); err != nil || busy != 0 {
		t.Fatalf("wal_checkpoint(TRUNCATE): busy %d, %v", busy, err)
	}
	for range 300 {
		if _, err := other.Exec(`INSERT INTO t (b) VALUES (randomblob(100))`); err != nil {
			t.Fatal(err)
		}
		rows++
	}
	exec(`INSERT INTO t (b) VALUES (randomblob(100))`)
	rows++
	checkDB(t, "after the log started over", path, rows)
	checkDB(t, "a crash after the log started over", copyDB(t, path), rows)

	// Rolled back to a savepoint after some of its pages were spilled,
	// then written again and committed.
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ins := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) INSERT INTO t (b) SELECT randomblob(4000) FROM c", n)
	}
	for _, q := range []string{ins(300), "SAVEPOINT s", ins(300), "ROLLBACK TO s", ins(100), "RELEASE s"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows += 400
	checkDB(t, "after a savepoint rolled back", path, rows)
	checkDB(t, "a crash after a savepoint rolled back", copyDB(t, path), rows)

	// A statement that fails on its last row (its own savepoint rolled
	// back, the transaction going on) between two that do not.
	exec(`CREATE TABLE u (k TEXT UNIQUE, b BLOB)`)
	exec(`INSERT INTO u VALUES ('dup', '')`)
	rowsU := func(n int, last string) string {
		return fmt.Sprintf(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)
			INSERT INTO u SELECT CASE WHEN x = %d THEN '%s' ELSE hex(randomblob(8)) END, randomblob(3000) FROM c`, n, n, last)
	}
	tx, err = w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(rowsU(200, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(rowsU(200, "dup")); err == nil {
		t.Fatal("a duplicate key inserted")
	}
	if _, err := tx.Exec(rowsU(50, "b")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for what, p := range map[string]string{"after a failed statement": path, "a crash after a failed statement": copyDB(t, path)} {
		checkDB(t, what, p, rows)
		db, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM u`).Scan(&n); err != nil || n != 251 {
			t.Errorf("%s: %d rows in u (%v), want 251", what, n, err)
		}
		db.Close()
	}
}
