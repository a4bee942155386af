package paygate

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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

// reverseInBackground takes over an authorization left in doubt by a
// network timeout: the merchant gets its decline at once and the reversal
// goes on without it.
//
// The payment stays pending in the store until the reversal is accepted,
// so whoever finishes it is safe against everyone else: first this node
// claims it the way Recover does, with a version-checked save (of its
// trace too) that also renews its lease — no sweeper, on any node, takes it
// before it has been quiet for InDoubtAfter, which is longer than a
// reversal may take. If the claim is lost, another node already has it. If
// the reversal fails, or this node stops or dies, the payment is still
// pending and the sweeper reverses it once the lease has run out.
func (g *Gateway) reverseInBackground(ctx context.Context, m *Merchant, p *Payment, log *slog.Logger) {
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); errors.Is(err, ErrVersionConflict) {
		log.Info("payment in doubt taken over by recovery meanwhile")
		return
	} else if err != nil {
		log.Warn("claim payment in doubt, left for recovery", LogError, err)
		return
	}
	// A copy of its own: the caller goes on to answer with p.
	cp := *p
	cp.Trace = slices.Clone(p.Trace)
	started := g.bg.start(func(ctx context.Context) {
		if err := g.reverseOriginal(ctx, m, &cp); err != nil {
			log.Warn("reversal failed, left for recovery", LogError, err)
			g.saveTrace(context.WithoutCancel(ctx), &cp)
			return
		}
		log.Info("payment in doubt reversed")
	})
	if !started {
		log.Warn("shutting down: reversal left for recovery")
	}
}
