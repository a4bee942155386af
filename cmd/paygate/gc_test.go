package main

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneGC(t *testing.T) {
	before := gcPercent()
	t.Setenv("GOGC", "")
	restore := tuneGC(defaultGCPercent)
	if got := gcPercent(); got != defaultGCPercent {
		t.Errorf("GC percent %d after tuneGC(%d)", got, defaultGCPercent)
	}
	restore()
	if got := gcPercent(); got != before {
		t.Errorf("GC percent %d after restore, want %d", got, before)
	}

	t.Setenv("GOGC", "50") // the variable wins
	restore = tuneGC(defaultGCPercent)
	if got := gcPercent(); got != before {
		t.Errorf("GC percent %d with GOGC set, want %d untouched", got, before)
	}
	restore()
	t.Setenv("GOGC", "")
	restore = tuneGC(0) // Go's default: untouched
	if got := gcPercent(); got != before {
		t.Errorf("GC percent %d after tuneGC(0), want %d untouched", got, before)
	}
	restore()
}
