package sqlstore

import (
	"context"
	"sync"
)

// Queue holds the writes waiting for an engine's writers, which commit them
// in batches (group commit): how a writer runs a batch is the engine's own.
type Queue struct {
	ops       chan *Op
	done      chan struct{} // closed by Close: no more writes are taken
	closed    chan struct{} // closed once every writer has stopped
	once      sync.Once
	writers   sync.WaitGroup
	errClosed error
}

// Op is a queued write and where to answer it.
type Op struct {
	W   *Write
	Err chan error // buffered: a writer never waits to answer
}

// NewQueue returns a queue that holds up to size writes before Submit
// waits; a write submitted after Close fails with errClosed.
func NewQueue(size int, errClosed error) *Queue {
	return &Queue{ops: make(chan *Op, size), done: make(chan struct{}), closed: make(chan struct{}), errClosed: errClosed}
}

// Go starts a writer, which takes its batches with Next until Next returns
// none.
func (q *Queue) Go(writer func()) { q.writers.Go(writer) }

// Close stops taking writes, waits until the writers have done the writes
// queued, and reports whether this call closed q (a second does nothing).
func (q *Queue) Close() (first bool) {
	q.once.Do(func() {
		first = true
		close(q.done)
		q.writers.Wait()
		close(q.closed)
	})
	return first
}

// Len returns how many writes wait for a writer.
func (q *Queue) Len() int { return len(q.ops) }

// Closed reports whether Close has been called.
func (q *Queue) Closed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// Submit queues w and waits for a writer's answer.
func (q *Queue) Submit(ctx context.Context, w *Write) error {
	o := &Op{W: w, Err: make(chan error, 1)}
	// Checked first: the queue has room after Close, and select picks
	// among ready cases at random.
	if q.Closed() {
		return q.errClosed
	}
	select {
	case q.ops <- o:
	case <-q.done:
		return q.errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will happen: wait for its outcome whatever
	// the context says, so the caller never guesses. Unless it was queued
	// as Close stopped the writers: they answer every write they take
	// before they stop, so no answer by then means it never ran.
	select {
	case err := <-o.Err:
		return err
	case <-q.closed:
		select {
		case err := <-o.Err:
			return err
		default:
			return q.errClosed
		}
	}
}

// Next waits for writes and returns them, up to max, in batch (whose
// contents it replaces). After Close it returns the writes still queued,
// and then none: the writer stops.
func (q *Queue) Next(batch []*Op, max int) []*Op {
	batch = batch[:0]
	select {
	case o := <-q.ops:
		batch = append(batch, o)
	case <-q.done:
		select { // finish what was queued before Close
		case o := <-q.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return q.drain(batch, max)
}

// drain adds to batch the writes queued, up to max, without waiting.
func (q *Queue) drain(batch []*Op, max int) []*Op {
	for len(batch) < max {
		select {
		case o := <-q.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// More waits for writes until stop is closed, and returns those that
// arrived, up to max, in batch (whose contents it replaces): none if stop
// came first, or once Close was called (Next then takes the rest).
func (q *Queue) More(batch []*Op, max int, stop <-chan struct{}) []*Op {
	batch = batch[:0]
	select {
	case o := <-q.ops:
		batch = append(batch, o)
	case <-stop:
		return batch
	case <-q.done:
		return batch
	}
	return q.drain(batch, max)
}
