package sqlite

import (
	"os"
	"syscall"
)

// datasync makes f's contents durable: fdatasync(2), which, unlike fsync,
// does not also wait for the journal to record the file's new times (what
// SQLite itself uses to sync its log).
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
