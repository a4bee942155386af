package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// countingWriter records what is written and how many writes it took;
// while gate is held, writes wait.
type countingWriter struct {
	gate   sync.Mutex
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.gate.Lock()
	defer w.gate.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.b.Write(p)
}

func (w *countingWriter) snapshot() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String(), w.writes
}

// checkLines checks that out holds each writer's n lines whole, in the
// order each wrote them.
func checkLines(t *testing.T, out string, writers, n int) {
	t.Helper()
	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != writers*n {
		t.Fatalf("%d lines written, want %d", len(lines), writers*n)
	}
	for _, line := range lines {
		var g, i int
		if _, err := fmt.Sscanf(line, "writer %d line %d end", &g, &i); err != nil {
			t.Fatalf("line %q is not whole: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
}

func TestLogWriterKeepsEveryLineInOrder(t *testing.T) {
	dst := &countingWriter{}
	lw := newLogWriter(dst)
	const writers, n = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range n {
				fmt.Fprintf(lw, "writer %d line %d end\n", g, i)
			}
		})
	}
	wg.Wait()
	lw.Close()
	out, writes := dst.snapshot()
	checkLines(t, out, writers, n)
	t.Logf("%d lines in %d writes", writers*n, writes)

	// After Close, lines are written in line.
	fmt.Fprintf(lw, "writer 0 line %d end\n", n)
	if out, _ := dst.snapshot(); !strings.HasSuffix(out, fmt.Sprintf("writer 0 line %d end\n", n)) {
		t.Errorf("a line written after Close is missing")
	}
}

// The lines that come while a write is under way go out together in the
// next one.
func TestLogWriterGathersLinesWhileWriting(t *testing.T) {
	dst := &countingWriter{}
	lw := newLogWriter(dst)
	dst.gate.Lock() // the destination is busy
	fmt.Fprintf(lw, "writer 0 line 0 end\n")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(lw, "writer 0 line %d end\n", i)
	}
	dst.gate.Unlock()
	lw.Close()
	out, writes := dst.snapshot()
	checkLines(t, out, 1, 100)
	if writes > 3 {
		t.Errorf("100 lines took %d writes, want at most 3 (the first, the rest, and maybe one between)", writes)
	}
}

// Past maxQueued, Write waits for the destination rather than queueing
// more.
func TestLogWriterBoundsItsQueue(t *testing.T) {
	dst := &countingWriter{}
	lw := newLogWriter(dst)
	lw.maxQueued = 64
	dst.gate.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			fmt.Fprintf(lw, "writer 0 line %d end\n", i) // 21–22 bytes each
		}
	}()
	// The writer cannot finish 20 lines (about 430 bytes) in a 64-byte
	// queue while the destination is stuck: it queues what fits and
	// waits.
	for range 10000 {
		runtime.Gosched()
		lw.mu.Lock()
		queued := len(lw.queued)
		lw.mu.Unlock()
		if queued > lw.maxQueued {
			t.Fatalf("%d bytes queued, more than %d", queued, lw.maxQueued)
		}
	}
	select {
	case <-done:
		t.Fatal("20 lines were taken while the destination was stuck")
	default:
	}
	dst.gate.Unlock()
	<-done
	lw.Close()
	out, _ := dst.snapshot()
	checkLines(t, out, 1, 20)
}
