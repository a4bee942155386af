package paygate

import (
	"context"
	"sync"
)

// background runs the work a request hands off so that its merchant need
// not wait for it (today: reversing an authorization whose answer never
// came). Shutdown stops it.
type background struct {
	mu     sync.Mutex
	ctx    context.Context // ends when Shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// start runs f in a goroutine unless Shutdown has begun; it reports whether
// it did.
func (b *background) start(f func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithCancel(context.Background())
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
	return true
}

// Shutdown stops handing work to the background and waits for the work
// under way to finish; when ctx ends first it cancels that work and waits
// for it to return. Cancelled work leaves its payments in doubt in the
// store, where Recover (on any node) finishes them. Call it after the HTTP
// server has drained and before the stores and the acquirer link close.
func (g *Gateway) Shutdown(ctx context.Context) error {
	b := &g.bg
	b.mu.Lock()
	b.closed = true
	cancel := b.cancel
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if cancel != nil {
			cancel()
		}
		<-done
		return ctx.Err()
	}
}
