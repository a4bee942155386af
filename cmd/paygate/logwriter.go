package main

import (
	"io"
	"sync"
)

// logWriter hands the log's lines to a goroutine that writes them: the
// lines that arrive while it writes go out together in its next write. A
// busy gateway logs two lines a sale, and a write system call per line
// cost it about 2% of its CPU; now it makes one for many lines. A line
// waits for the goroutine to be scheduled, and no longer: nothing is held
// back on a timer. Lines queued when the process is killed (kill -9) are
// lost with it; Close writes what is queued.
//
// Past maxQueued bytes waiting (the destination is slower than the
// lines come), Write writes in line instead, after what is queued, so the
// queue does not grow without bound and loggers wait as they would
// without it.
type logWriter struct {
	w         io.Writer
	maxQueued int

	mu      sync.Mutex
	queued  []byte
	closed  bool
	writeMu sync.Mutex // held while writing to w: lines go out in order
	spare   []byte     // the last write's buffer, for the next queue (under writeMu)
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, maxQueued: 1 << 20, kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// Write queues p, a line (slog writes each record with one Write), and
// reports it written.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if !l.closed && len(l.queued)+len(p) <= l.maxQueued {
		l.queued = append(l.queued, p...)
		l.mu.Unlock()
		select {
		case l.kick <- struct{}{}:
		default: // the goroutine is kicked already
		}
		return len(p), nil
	}
	l.mu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.flushLocked(); err != nil {
		return 0, err
	}
	return l.w.Write(p)
}

// flushLocked writes what is queued; writeMu is held.
func (l *logWriter) flushLocked() error {
	l.mu.Lock()
	out := l.queued
	if len(out) == 0 {
		l.mu.Unlock()
		return nil
	}
	l.queued, l.spare = l.spare[:0], nil // two buffers, never the same
	l.mu.Unlock()
	_, err := l.w.Write(out)
	if cap(out) <= l.maxQueued {
		l.spare = out
	} else {
		l.spare = nil
	}
	return err
}

func (l *logWriter) run() {
	defer close(l.stopped)
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			l.writeMu.Lock()
			l.flushLocked()
			l.writeMu.Unlock()
			return
		}
		l.writeMu.Lock()
		l.flushLocked() // a log that cannot be written has nowhere to say so
		l.writeMu.Unlock()
	}
}

// Close writes the lines queued and stops the goroutine; later lines are
// written in line.
func (l *logWriter) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.stopped
	return nil
}
