package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target that the gateway runs
// with unless told otherwise: the heap may grow to three times what is live
// before a collection (Go's default is twice). A sale allocates about 30 KB
// that dies with it, and the live heap is small (about 10 MB), so the
// collector runs far less often for about 10 MB more memory.
const defaultGCPercent = 200

// tuneGC sets the collector's target to percent, unless the GOGC variable
// sets Go's own (which wins), or percent is 0 (Go's default, 100). It
// returns what puts back the target that was in force before.
func tuneGC(percent int) (restore func()) {
	if percent == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(old) }
}
