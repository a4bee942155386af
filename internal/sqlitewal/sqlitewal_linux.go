//go:build linux && (amd64 || arm64)

package sqlitewal

// SQLite writes each frame of a commit to the log with two pwrite calls,
// its 24-byte header and then its page: a commit of a few dozen sales is
// some 150 system calls of 2 to 5 µs each, made one after another by the
// one writer that every sale waits for. Here the unix VFS's system calls
// are replaced (through its documented xSetSystemCall) so that a
// transaction's frames are held in memory while each follows the last,
// and reach the file in one call with the header of its commit frame.
//
// The rules, each for a reason of SQLite's (walFrames and its callers):
//
//   - A commit frame's header (24 bytes past the log's header, the
//     database's size in its second word) that follows what is held is
//     held too, and its page, written next, writes it all; a commit
//     frame's header written alone goes straight to the file. Every
//     write after a commit frame's header goes straight to the file,
//     until the next frame header that is not a commit's, which starts a
//     new transaction's frames. So by the time SQLite publishes a commit in
//     the log's index (shared memory) or syncs the log (synchronous=FULL,
//     with libc's fsync, not hooked), every byte of it is in the file:
//     its page, the padding frames after it (also commit frames), a write
//     split at the sync point, and the frame headers that a commit
//     rewrites with new checksums after changing pages in place.
//   - A read, a size asked or changed (pread, fstat, ftruncate) writes
//     what is held first: the writer reads back its own spilled frames.
//   - A write that does not follow what is held writes it first (a page
//     changed in place by the same transaction); but a frame header
//     written where held frames are (a savepoint rolled back: SQLite
//     writes again from the frame it rolled back to) drops the held
//     frames from there on, and what is held is dropped whole, not
//     written, when the write is the log's own header (the log starting
//     over) or a frame header below all of it: then what is held is a
//     rolled-back transaction's, and the file may no longer be the log it
//     was written for. For the same reason it is dropped when the
//     write lock in the shared memory is released (fcntl on "-shm", which
//     SQLite calls as a transaction ends; a commit has nothing held by
//     then), and when the file is closed. A database is known by its file
//     (device and inode), whatever path reached it.
//   - A failed write fails the write that made it, and drops what is held:
//     SQLite rolls the transaction back.
//
// A database put in EXCLUSIVE locking mode before its log is opened (the
// bank's ledger) has no shared memory: no other connection can start its log over, so what is held of a
// rolled-back transaction is dropped at the next transaction's first write
// at the latest, and a read that writes it first writes it past the last
// commit, where SQLite's own write had put it.

import (
	"encoding/binary"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

const (
	walFrameHeader = 24      // a frame's header
	walHeader      = 32      // the log's header, at its start
	walHoldMax     = 4 << 20 // held at most before it is written anyway
	// shmWriteLock is the byte of "-shm" whose lock is the log's write
	// lock (UNIX_SHM_BASE, 120, plus WAL_WRITE_LOCK, 0).
	shmWriteLock = 120
)

// dbID names a database by its file, not by the path that reached it.
type dbID struct{ dev, ino uint64 }

// walFile is one open log.
type walFile struct {
	db dbID // the database's

	mu  sync.Mutex // guards what follows
	buf []byte     // held: to be written at off
	off int64
	// frame is a frame's size in the log (its header and a page), once
	// known: from the log's header, written or read.
	frame int64
	// through: a commit frame's header was written; writes go straight to
	// the file until the next frame header that is not a commit's.
	through bool
}

var (
	// walGathering: the hooks are in.
	walGathering bool

	mu       sync.RWMutex
	walFiles = map[int32]*walFile{} // by file descriptor
	shmFiles = map[int32]dbID{}     // "-shm" file descriptors: the database's

	// walCalls counts the write calls made for the logs' writes, and
	// walWrites the writes SQLite asked of them (tests).
	walCalls, walWrites atomic.Int64

	origOpen, origClose, origFstat, origFtruncate, origFcntl, origPread, origPwrite uintptr
)

// The system calls, as the unix VFS calls them.
type (
	openFn      = func(*libc.TLS, uintptr, int32, int32) int32
	closeFn     = func(*libc.TLS, int32) int32
	fstatFn     = func(*libc.TLS, int32, uintptr) int32
	ftruncateFn = func(*libc.TLS, int32, int64) int32
	fcntlFn     = func(*libc.TLS, int32, int32, uintptr) int32         // the third: a va_list
	rwFn        = func(*libc.TLS, int32, uintptr, uint64, int64) int64 // pread, pwrite
)

// cptr is C memory at p (SQLite's, outside Go's heap) as a pointer.
func cptr(p uintptr) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), p) }

// fnPtr is f as the transpiled C holds a function pointer (__ccgo_fp).
func fnPtr(f any) uintptr { return (*[2]uintptr)(unsafe.Pointer(&f))[1] }

// call is the function pointer p as a Go function of type F.
func call[F any](p uintptr) F { return *(*F)(unsafe.Pointer(&struct{ uintptr }{p})) }

// hookWAL installs the hooks in the unix VFS and reports whether it did:
// all of them or none. It runs once, from init: SQLite asks that no
// connection be using the VFS while they change. (Finding the VFS
// initializes SQLite, after which sqlite3_config is refused: the driver's
// page cache, which this program does not register, would have to be
// registered before this package's init.)
func hookWAL() bool {
	tls := libc.NewTLS()
	defer tls.Close()
	vfs := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if vfs == 0 {
		return false
	}
	v := (*sqlite3.Tsqlite3_vfs)(cptr(vfs))
	if v.FiVersion < 3 || v.FxSetSystemCall == 0 || v.FxGetSystemCall == 0 || libc.GoString(v.FzName) != "unix" {
		return false
	}
	get := call[func(*libc.TLS, uintptr, uintptr) uintptr](v.FxGetSystemCall)
	set := call[func(*libc.TLS, uintptr, uintptr, uintptr) int32](v.FxSetSystemCall)
	hooks := []struct {
		name string
		orig *uintptr
		fn   any
		c    uintptr // the name in C
	}{
		{name: "open", orig: &origOpen, fn: walOpen},
		{name: "close", orig: &origClose, fn: walClose},
		{name: "fstat", orig: &origFstat, fn: walFstat},
		{name: "ftruncate", orig: &origFtruncate, fn: walFtruncate},
		{name: "fcntl", orig: &origFcntl, fn: walFcntl},
		{name: "pread", orig: &origPread, fn: walPread},
		{name: "pwrite", orig: &origPwrite, fn: walPwrite},
	}
	defer func() {
		for _, h := range hooks {
			if h.c != 0 {
				libc.Xfree(tls, h.c)
			}
		}
	}()
	for i := range hooks {
		h := &hooks[i]
		p, err := libc.CString(h.name)
		if err != nil {
			return false
		}
		h.c = p
		if *h.orig = get(tls, vfs, p); *h.orig == 0 {
			return false
		}
	}
	for i, h := range hooks {
		if set(tls, vfs, h.c, fnPtr(h.fn)) != 0 {
			for _, g := range hooks[:i] {
				set(tls, vfs, g.c, *g.orig)
			}
			return false
		}
	}
	return true
}

// walOf is the log open as fd, or nil.
func walOf(fd int32) *walFile {
	mu.RLock()
	w := walFiles[fd]
	mu.RUnlock()
	return w
}

func setErrno(tls *libc.TLS, err error) {
	e, ok := err.(unix.Errno)
	if !ok {
		e = unix.EIO
	}
	*(*int32)(cptr(libc.X__errno_location(tls))) = int32(e)
}

// writeAll writes p at off, all of it.
func writeAll(fd int32, p []byte, off int64) error {
	for len(p) > 0 {
		walCalls.Add(1)
		n, err := unix.Pwrite(int(fd), p, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.ENOSPC // as SQLite reads a write of nothing
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// flush writes what w holds; it is dropped whether or not that succeeds.
// Called with w.mu held.
func (w *walFile) flush(fd int32) error {
	if len(w.buf) == 0 {
		return nil
	}
	err := writeAll(fd, w.buf, w.off)
	w.buf = w.buf[:0]
	return err
}

// flushFd writes what is held for fd, if it is a log; false (errno set)
// if that failed.
func flushFd(tls *libc.TLS, fd int32) bool {
	w := walOf(fd)
	if w == nil {
		return true
	}
	w.mu.Lock()
	err := w.flush(fd)
	w.mu.Unlock()
	if err != nil {
		setErrno(tls, err)
		return false
	}
	return true
}

func walOpen(tls *libc.TLS, path uintptr, flags, mode int32) int32 {
	fd := call[openFn](origOpen)(tls, path, flags, mode)
	if fd < 0 {
		return fd
	}
	p := libc.GoString(path)
	if path, ok := strings.CutSuffix(p, "-wal"); ok {
		if db, ok := database(path); ok {
			mu.Lock()
			walFiles[fd] = &walFile{db: db}
			mu.Unlock()
		}
	} else if path, ok := strings.CutSuffix(p, "-shm"); ok {
		if db, ok := database(path); ok {
			mu.Lock()
			shmFiles[fd] = db
			mu.Unlock()
		}
	}
	return fd
}

// database is the database at path, whose log or shared memory SQLite is
// opening, if one is there. (A database whose own name ends in "-wal" is
// left alone, unless a file of its name without it is there too.)
func database(path string) (dbID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return dbID{}, false
	}
	return dbID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// frameSize is a frame's size given the log's header, or 0 if hdr is not
// one (its magic number, its page size: a power of two from 512 to 65536,
// 65536 written as 1).
func frameSize(hdr []byte) int64 {
	if len(hdr) < walHeader || binary.BigEndian.Uint32(hdr)&^1 != 0x377f0682 {
		return 0
	}
	sz := int64(binary.BigEndian.Uint32(hdr[8:]))
	if sz == 1 {
		sz = 65536
	}
	if sz < 512 || sz > 65536 || sz&(sz-1) != 0 {
		return 0
	}
	return walFrameHeader + sz
}

// isHeader reports whether a write of n bytes at off to w's log, open as
// fd, is a frame's header: 24 bytes where a frame begins. (A page's write
// split at a sector, with synchronous=FULL and psow=0, can be 24 bytes
// too.) If the log's header cannot be read, every write of 24 bytes is
// taken for one. Called with w.mu held.
func (w *walFile) isHeader(fd int32, n uint64, off int64) bool {
	if n != walFrameHeader || off < walHeader {
		return false
	}
	if w.frame == 0 {
		hdr := make([]byte, walHeader)
		if m, err := unix.Pread(int(fd), hdr, 0); err == nil && m == walHeader {
			w.frame = frameSize(hdr)
		}
	}
	return w.frame == 0 || (off-walHeader)%w.frame == 0
}

func walClose(tls *libc.TLS, fd int32) int32 {
	mu.Lock()
	if w := walFiles[fd]; w != nil {
		// What is held is a transaction's that was not committed.
		w.mu.Lock()
		w.buf = w.buf[:0]
		w.mu.Unlock()
		delete(walFiles, fd)
	}
	delete(shmFiles, fd)
	mu.Unlock()
	return call[closeFn](origClose)(tls, fd)
}

func walFstat(tls *libc.TLS, fd int32, st uintptr) int32 {
	if !flushFd(tls, fd) {
		return -1
	}
	return call[fstatFn](origFstat)(tls, fd, st)
}

func walFtruncate(tls *libc.TLS, fd int32, size int64) int32 {
	if !flushFd(tls, fd) {
		return -1
	}
	return call[ftruncateFn](origFtruncate)(tls, fd, size)
}

func walPread(tls *libc.TLS, fd int32, buf uintptr, n uint64, off int64) int64 {
	if !flushFd(tls, fd) {
		return -1
	}
	return call[rwFn](origPread)(tls, fd, buf, n, off)
}

// walFcntl drops what is held for a database's logs when the log's write
// lock in its shared memory is released: the transaction has ended, and
// a commit has nothing held by then.
func walFcntl(tls *libc.TLS, fd, cmd int32, va uintptr) int32 {
	if cmd != unix.F_SETLK && cmd != unix.F_SETLKW && cmd != unix.F_OFD_SETLK && cmd != unix.F_OFD_SETLKW {
		return call[fcntlFn](origFcntl)(tls, fd, cmd, va)
	}
	mu.RLock()
	db, shm := shmFiles[fd]
	mu.RUnlock()
	if shm {
		ap := va
		lk := (*unix.Flock_t)(cptr(libc.VaUintptr(&ap)))
		if lk.Type == unix.F_UNLCK && lk.Start <= shmWriteLock && (lk.Len == 0 || lk.Start+lk.Len > shmWriteLock) {
			mu.RLock()
			for _, w := range walFiles {
				if w.db == db {
					w.mu.Lock()
					w.buf = w.buf[:0]
					w.mu.Unlock()
				}
			}
			mu.RUnlock()
		}
	}
	return call[fcntlFn](origFcntl)(tls, fd, cmd, va)
}

func walPwrite(tls *libc.TLS, fd int32, buf uintptr, n uint64, off int64) int64 {
	w := walOf(fd)
	if w == nil || n == 0 {
		return call[rwFn](origPwrite)(tls, fd, buf, n, off)
	}
	walWrites.Add(1)
	p := unsafe.Slice((*byte)(cptr(buf)), n)
	w.mu.Lock()
	defer w.mu.Unlock()
	if off == 0 {
		w.frame = frameSize(p)
	}
	header := w.isHeader(fd, n, off)
	commit := header && (p[4]|p[5]|p[6]|p[7]) != 0
	fail := func(err error) int64 {
		w.buf = w.buf[:0]
		setErrno(tls, err)
		return -1
	}
	end := w.off + int64(len(w.buf))
	switch {
	case off == 0 || (header && len(w.buf) > 0 && off < w.off):
		// The log starting over, or a frame written below all that is
		// held: that is a rolled-back transaction's (or savepoint's).
		w.buf = w.buf[:0]
	case header && off >= w.off && off < end:
		// A frame written where held frames were: a savepoint rolled
		// back to a frame held (sqlite3WalSavepointUndo). The frames
		// before it stay held; those from it on are dead.
		w.buf = w.buf[:off-w.off]
	case len(w.buf) > 0 && (off != end || len(w.buf)+len(p) > walHoldMax):
		if err := w.flush(fd); err != nil {
			return fail(err)
		}
	}
	switch {
	case commit:
		w.through = true
	case header:
		w.through = false
	}
	if commit && len(w.buf) > 0 {
		// The commit frame's header after the frames before it: held
		// until its page, which follows at once (walWriteOneFrame).
		w.buf = append(w.buf, p...)
		return int64(n)
	}
	if w.through || off == 0 {
		// The commit frame's page with all that is held before it, and
		// whatever follows it; a commit frame's header alone (its
		// checksum rewritten); the log's header at once (SQLite may sync
		// it before the first frame).
		if len(w.buf) > 0 {
			w.buf = append(w.buf, p...)
			if err := w.flush(fd); err != nil {
				return fail(err)
			}
		} else if err := writeAll(fd, p, off); err != nil {
			return fail(err)
		}
		return int64(n)
	}
	if len(w.buf) == 0 {
		w.off = off
	}
	w.buf = append(w.buf, p...)
	return int64(n)
}

// The hooks go in as the program starts, before any database is opened.
func init() {
	if os.Getenv(Env) != "off" {
		walGathering = hookWAL()
	}
}

// On reports whether the logs' writes are gathered: the hooks are in.
func On() bool { return walGathering }

// Counts returns how many write calls were made for the logs' writes, and
// how many writes SQLite asked of them, since the program started.
func Counts() (calls, writes int64) { return walCalls.Load(), walWrites.Load() }
