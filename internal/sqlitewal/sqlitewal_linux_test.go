//go:build linux && (amd64 || arm64)

package sqlitewal

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
	"modernc.org/libc"
)

// The rules of walPwrite, driven as SQLite's unix VFS drives them, on a
// log of a database in a temporary directory; what reaches the file is
// read back with Go's own calls, which these hooks do not see.

const page = 4096

type fakeLog struct {
	t    *testing.T
	tls  *libc.TLS
	path string
	fd   int32
	cbuf uintptr // C memory for what is written
	// want is what the file must hold once SQLite's calls are done.
	want []byte
}

func newFakeLog(t *testing.T) *fakeLog {
	t.Helper()
	db := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l := &fakeLog{t: t, tls: libc.NewTLS(), path: db + "-wal"}
	cpath, err := libc.CString(l.path)
	if err != nil {
		t.Fatal(err)
	}
	defer libc.Xfree(l.tls, cpath)
	if l.fd = walOpen(l.tls, cpath, unix.O_RDWR|unix.O_CREAT, 0o600); l.fd < 0 {
		t.Fatal("open failed")
	}
	if walOf(l.fd) == nil {
		t.Fatal("the log is not taken for one")
	}
	l.cbuf = libc.Xmalloc(l.tls, page+walHeader)
	t.Cleanup(func() {
		walClose(l.tls, l.fd)
		libc.Xfree(l.tls, l.cbuf)
		l.tls.Close()
	})
	l.header(1)
	return l
}

// header writes the log's header, as when the log starts (over).
func (l *fakeLog) header(salt byte) {
	l.t.Helper()
	hdr := make([]byte, walHeader)
	binary.BigEndian.PutUint32(hdr[0:], 0x377f0682)
	binary.BigEndian.PutUint32(hdr[4:], 3007000)
	binary.BigEndian.PutUint32(hdr[8:], page)
	hdr[16] = salt
	l.write(hdr, 0)
	l.expect(hdr, 0)
}

// write is SQLite's pwrite of p at off.
func (l *fakeLog) write(p []byte, off int64) {
	l.t.Helper()
	copy(unsafe.Slice((*byte)(cptr(l.cbuf)), len(p)), p)
	if n := walPwrite(l.tls, l.fd, l.cbuf, uint64(len(p)), off); n != int64(len(p)) {
		l.t.Fatalf("pwrite of %d bytes at %d: %d", len(p), off, n)
	}
}

func (l *fakeLog) expect(p []byte, off int64) {
	if end := int(off) + len(p); end > len(l.want) {
		l.want = append(l.want, make([]byte, end-len(l.want))...)
	}
	copy(l.want[off:], p)
}

func frameOff(i int) int64 { return walHeader + int64(i)*(walFrameHeader+page) }

// frame writes frame i (from 0), a commit's if dbSize is not 0, as
// walWriteOneFrame does: its header, then its page.
func (l *fakeLog) frame(i int, dbSize uint32, fill byte) {
	hdr := make([]byte, walFrameHeader)
	binary.BigEndian.PutUint32(hdr[0:], uint32(i+1))
	binary.BigEndian.PutUint32(hdr[4:], dbSize)
	hdr[23] = fill
	pg := bytes.Repeat([]byte{fill}, page)
	l.write(hdr, frameOff(i))
	l.write(pg, frameOff(i)+walFrameHeader)
	l.expect(hdr, frameOff(i))
	l.expect(pg, frameOff(i)+walFrameHeader)
}

// rolledBack runs f, whose frames are not to reach the file.
func (l *fakeLog) rolledBack(f func()) {
	want := append([]byte(nil), l.want...)
	f()
	l.want = want
}

// onDisk is the file's content as the kernel has it.
func (l *fakeLog) onDisk() []byte {
	b, err := os.ReadFile(l.path)
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

func (l *fakeLog) held() int {
	w := walOf(l.fd)
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

func (l *fakeLog) check(what string) {
	l.t.Helper()
	if n := l.held(); n != 0 {
		l.t.Fatalf("%s: %d bytes still held", what, n)
	}
	if got := l.onDisk(); !bytes.Equal(got, l.want) {
		l.t.Fatalf("%s: the file holds %d bytes, not the %d written", what, len(got), len(l.want))
	}
}

func TestCommitWrittenWhole(t *testing.T) {
	l := newFakeLog(t)
	l.check("after the log's header")
	calls, _ := Counts()
	for i := range 9 {
		l.frame(i, 0, byte(i))
	}
	if l.held() == 0 {
		t.Fatal("a transaction's frames before its commit frame are not held")
	}
	l.frame(9, 10, 9)
	l.check("after a commit of 10 frames")
	if c, _ := Counts(); c-calls != 1 {
		t.Errorf("%d write calls for a commit of 10 frames, want 1", c-calls)
	}
}

// TestCommitPastHoldMax: the commit's page is the write that would take
// what is held past walHoldMax.
func TestCommitPastHoldMax(t *testing.T) {
	l := newFakeLog(t)
	n := int((walHoldMax - walFrameHeader) / (walFrameHeader + page)) // frames held before the commit's page overflows
	for i := range n {
		l.frame(i, 0, byte(i))
	}
	l.frame(n, uint32(n+1), 0xcc)
	l.check("after a commit whose page passed the most held")
}

// TestCommitChecksumsRewritten: a commit that changed in place a page it
// had spilled rewrites the headers of its frames from that one on, after
// its commit frame, reading each frame first (walRewriteChecksums).
func TestCommitChecksumsRewritten(t *testing.T) {
	l := newFakeLog(t)
	for i := range 4 { // spilled
		l.frame(i, 0, byte(i))
	}
	pg := bytes.Repeat([]byte{0xee}, page) // frame 1's page changed in place
	l.write(pg, frameOff(1)+walFrameHeader)
	l.expect(pg, frameOff(1)+walFrameHeader)
	l.frame(4, 5, 4)
	for i := 1; i <= 4; i++ {
		if walPread(l.tls, l.fd, l.cbuf, walFrameHeader, frameOff(i)) < 0 {
			t.Fatal("pread")
		}
		hdr := make([]byte, walFrameHeader)
		binary.BigEndian.PutUint32(hdr[0:], uint32(i+1))
		if i == 4 {
			binary.BigEndian.PutUint32(hdr[4:], 5)
		}
		hdr[16], hdr[23] = 0xab, byte(i) // new checksum
		l.write(hdr, frameOff(i))
		l.expect(hdr, frameOff(i))
	}
	l.check("after the checksums were rewritten")
}

// TestRolledBackDropped: what a rolled-back transaction left held is not
// written later: not when the next transaction starts lower, not when the
// log starts over, not when the write lock is released.
func TestRolledBackDropped(t *testing.T) {
	l := newFakeLog(t)
	l.frame(0, 1, 1) // committed
	l.check("after the first commit")
	committed := append([]byte(nil), l.want...)

	l.rolledBack(func() { // spilled, then rolled back
		l.frame(1, 0, 2)
		l.frame(2, 0, 3)
	})
	if !bytes.Equal(l.want, committed) {
		t.Fatal("want changed")
	}
	l.frame(1, 2, 4) // the next transaction, where the other began
	l.check("after a transaction over a rolled-back one")

	l.rolledBack(func() { l.frame(2, 0, 5) }) // then the log starts over
	l.header(2)
	l.check("after the log started over")

	// The write lock released through the database's shared memory.
	shm := filepath.Join(filepath.Dir(l.path), "x.db-shm")
	cshm, err := libc.CString(shm)
	if err != nil {
		t.Fatal(err)
	}
	defer libc.Xfree(l.tls, cshm)
	sfd := walOpen(l.tls, cshm, unix.O_RDWR|unix.O_CREAT, 0o600)
	if sfd < 0 {
		t.Fatal("open -shm")
	}
	defer walClose(l.tls, sfd)
	l.rolledBack(func() { l.frame(2, 0, 6) })
	if l.held() == 0 {
		t.Fatal("nothing held")
	}
	lk := (*unix.Flock_t)(cptr(libc.Xmalloc(l.tls, uint64(unsafe.Sizeof(unix.Flock_t{})))))
	defer libc.Xfree(l.tls, uintptr(unsafe.Pointer(lk)))
	*lk = unix.Flock_t{Type: unix.F_UNLCK, Start: shmWriteLock, Len: 1}
	va := libc.VaList(libc.Xmalloc(l.tls, 16), uintptr(unsafe.Pointer(lk)))
	walFcntl(l.tls, sfd, unix.F_SETLK, va)
	walPread(l.tls, l.fd, l.cbuf, walFrameHeader, 0) // would write what is held
	l.check("after the write lock was released")
}

// TestSavepointRolledBack: a transaction rolls back to a savepoint taken
// after some of its frames (held), writes again from there and commits:
// the frames before the savepoint are in the file, those after it are
// not, and the commit is whole.
func TestSavepointRolledBack(t *testing.T) {
	l := newFakeLog(t)
	l.frame(0, 1, 1) // committed
	l.frame(1, 0, 2) // the transaction's frames before the savepoint
	l.frame(2, 0, 3)
	l.rolledBack(func() { // after it, rolled back to
		l.frame(3, 0, 4)
		l.frame(4, 0, 5)
	})
	if l.held() == 0 {
		t.Fatal("nothing held")
	}
	l.frame(3, 0, 6) // written again from the savepoint
	l.frame(4, 5, 7) // and committed
	l.check("after a commit rolled back to a savepoint in between")

	// Rolled back to a savepoint at the first frame held.
	l.frame(5, 0, 8)
	l.rolledBack(func() { l.frame(6, 0, 9) })
	l.frame(6, 7, 10)
	l.check("after a commit rolled back to its second frame")
	l.rolledBack(func() { l.frame(7, 0, 11) })
	l.frame(7, 8, 12)
	l.check("after a commit rolled back to its first frame")
}

// TestPaddingSplit: with synchronous=FULL and psow=0 SQLite pads a commit
// with copies of its last frame to a sector's end, and splits the write
// that crosses the sector at the sync point: a piece of a page can be 24
// bytes, with zeros where a header has the database's size. It is not a
// header (not where a frame begins), and goes straight to the file as all
// that follows a commit's header does.
func TestPaddingSplit(t *testing.T) {
	l := newFakeLog(t)
	l.frame(0, 0, 1)
	l.frame(1, 2, 2) // the commit frame
	// A padding frame: a commit frame's header, its page in two pieces.
	hdr := make([]byte, walFrameHeader)
	binary.BigEndian.PutUint32(hdr[0:], 2)
	binary.BigEndian.PutUint32(hdr[4:], 2)
	l.write(hdr, frameOff(2))
	l.expect(hdr, frameOff(2))
	pg := make([]byte, page) // zeros where a header's size would be
	l.write(pg[:walFrameHeader], frameOff(2)+walFrameHeader)
	l.expect(pg[:walFrameHeader], frameOff(2)+walFrameHeader)
	l.check("after the first piece of a split page")
	l.write(pg[walFrameHeader:], frameOff(2)+2*walFrameHeader)
	l.expect(pg[walFrameHeader:], frameOff(2)+2*walFrameHeader)
	l.check("after the padding")
}
