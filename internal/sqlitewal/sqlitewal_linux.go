//go:build linux && (amd64 || arm64)

package sqlitewal

// SQLite writes each frame of a commit to the log with two pwrite calls,
// its 24-byte header and then its page: a commit of a few dozen sales is
// some 150 system calls of 2 to 5 µs each, made one after another by the
// one writer that every sale waits for. Here the unix VFS's system calls
// are replaced (through its documented xSetSystemCall) so that the writes
// to a log are held in memory while each follows the last, and written in
// one call when a commit's last frame is: before SQLite publishes the
// commit in the log's index (shared memory), so a reader, in this process
// or another, never finds a frame that is not in the file. Anything else
// done to the file through SQLite (a read, a write elsewhere, its size
// asked or changed, its closing) writes what is held first. A commit cut
// short (a crash, a rollback, a failed write) leaves the log as SQLite's
// own writes would: frames past the last commit, which recovery ignores.
// SQLite syncs the log itself (synchronous=FULL, the bank's ledger) only
// after a commit's last frame, or after the log's header, both written at
// once.

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// walFrameHeader is the size of a frame's header in the log; walHeader
// that of the log's own header, at its start.
const (
	walFrameHeader = 24
	walHeader      = 32
	walHoldMax     = 4 << 20 // held at most before they are written anyway
)

// walFile is what is held for one open log: bytes to be written at off.
type walFile struct {
	mu  sync.Mutex
	buf []byte
	off int64
	// commitNext: the last write was the header of a commit's last frame,
	// so the next (its page) completes the commit.
	commitNext bool
}

var (
	// walGathering: the hooks are in.
	walGathering bool

	walMu    sync.RWMutex
	walFiles = map[int32]*walFile{}
	// walCalls counts the pwrite calls made for the logs' writes, and
	// walWrites the writes SQLite asked of them (tests).
	walCalls, walWrites atomic.Int64

	origOpen, origClose, origFstat, origFtruncate, origPread, origPwrite uintptr
)

// The system calls, as the unix VFS calls them.
type (
	openFn      = func(*libc.TLS, uintptr, int32, int32) int32
	closeFn     = func(*libc.TLS, int32) int32
	fstatFn     = func(*libc.TLS, int32, uintptr) int32
	ftruncateFn = func(*libc.TLS, int32, int64) int32
	rwFn        = func(*libc.TLS, int32, uintptr, uint64, int64) int64 // pread, pwrite
)

// cptr is C memory at p (SQLite's, outside Go's heap) as a pointer.
func cptr(p uintptr) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), p) }

// fnPtr is f as the transpiled C holds a function pointer.
func fnPtr(f any) uintptr { return (*[2]uintptr)(unsafe.Pointer(&f))[1] }

// call is the function pointer p as a Go function of type F.
func call[F any](p uintptr) F { return *(*F)(unsafe.Pointer(&struct{ uintptr }{p})) }

var walHookOnce sync.Once

// hookWAL installs the hooks in the unix VFS, once, before the first
// database is opened. It reports whether it did.
func hookWAL() (ok bool) {
	walHookOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		vfs := sqlite3.Xsqlite3_vfs_find(tls, 0)
		if vfs == 0 {
			return
		}
		v := (*sqlite3.Tsqlite3_vfs)(cptr(vfs))
		if v.FiVersion < 3 || v.FxSetSystemCall == 0 || v.FxGetSystemCall == 0 || libc.GoString(v.FzName) != "unix" {
			return
		}
		get := call[func(*libc.TLS, uintptr, uintptr) uintptr](v.FxGetSystemCall)
		set := call[func(*libc.TLS, uintptr, uintptr, uintptr) int32](v.FxSetSystemCall)
		hooks := []struct {
			name string
			orig *uintptr
			fn   any
		}{
			{"open", &origOpen, walOpen},
			{"close", &origClose, walClose},
			{"fstat", &origFstat, walFstat},
			{"ftruncate", &origFtruncate, walFtruncate},
			{"pread", &origPread, walPread},
			{"pwrite", &origPwrite, walPwrite},
		}
		names := make([]uintptr, len(hooks))
		for i, h := range hooks {
			p, err := libc.CString(h.name)
			if err != nil {
				return
			}
			names[i] = p
			if *h.orig = get(tls, vfs, p); *h.orig == 0 {
				return
			}
		}
		for i, h := range hooks {
			if set(tls, vfs, names[i], fnPtr(h.fn)) != 0 {
				// Put back what was set: all or nothing.
				for j := range i {
					set(tls, vfs, names[j], *hooks[j].orig)
				}
				return
			}
		}
		ok = true
	})
	return ok
}

// walOf is the log open as fd, or nil.
func walOf(fd int32) *walFile {
	walMu.RLock()
	w := walFiles[fd]
	walMu.RUnlock()
	return w
}

func setErrno(tls *libc.TLS, err error) {
	e, ok := err.(unix.Errno)
	if !ok {
		e = unix.EIO
	}
	*(*int32)(cptr(libc.X__errno_location(tls))) = int32(e)
}

// flush writes what w holds. Called with w.mu held.
func (w *walFile) flush(fd int32) error {
	b, off := w.buf, w.off
	w.buf, w.commitNext = w.buf[:0], false
	for len(b) > 0 {
		walCalls.Add(1)
		n, err := unix.Pwrite(int(fd), b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
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
	if fd >= 0 && isWAL(libc.GoString(path)) {
		walMu.Lock()
		walFiles[fd] = &walFile{}
		walMu.Unlock()
	}
	return fd
}

// isWAL reports whether the file SQLite opens at path is a database's
// write-ahead log: its name is the database's with "-wal" after it, and
// the database is there. (A database whose own name ends in "-wal" is
// left alone, unless a file of its name without it is there too.)
func isWAL(path string) bool {
	db, ok := strings.CutSuffix(path, "-wal")
	if !ok {
		return false
	}
	st, err := os.Stat(db)
	return err == nil && st.Mode().IsRegular()
}

func walClose(tls *libc.TLS, fd int32) int32 {
	if w := walOf(fd); w != nil {
		w.mu.Lock()
		w.flush(fd) // SQLite does not look at close's errors either
		w.mu.Unlock()
		walMu.Lock()
		delete(walFiles, fd)
		walMu.Unlock()
	}
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

func walPwrite(tls *libc.TLS, fd int32, buf uintptr, n uint64, off int64) int64 {
	w := walOf(fd)
	if w == nil || n == 0 {
		return call[rwFn](origPwrite)(tls, fd, buf, n, off)
	}
	walWrites.Add(1)
	p := unsafe.Slice((*byte)(cptr(buf)), n)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && (off != w.off+int64(len(w.buf)) || len(w.buf)+len(p) > walHoldMax) {
		if err := w.flush(fd); err != nil {
			setErrno(tls, err)
			return -1
		}
	}
	if len(w.buf) == 0 {
		w.off = off
	}
	w.buf = append(w.buf, p...)
	// A frame's header whose second word (the database's size in pages)
	// is not zero is a commit's: its page, written next, ends the commit.
	// The log's own header (at its start, when it starts over) is written
	// at once too, as SQLite may sync it before the frames.
	end := w.commitNext || off == 0
	w.commitNext = n == walFrameHeader && off >= walHeader && (p[4]|p[5]|p[6]|p[7]) != 0
	if end {
		if err := w.flush(fd); err != nil {
			setErrno(tls, err)
			return -1
		}
	}
	return int64(n)
}

// The hooks go in as the program starts, before any database is opened:
// SQLite asks that no connection be using the VFS while they change.
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
