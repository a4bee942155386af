package gatewaytest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate"
)

// Clock is a test gateway's clock: the wall clock, moved forward by what
// the test advances it. Tests advance it past a deadline (InDoubtAfter, an
// acknowledgment window, an idempotency lease) and then call the work that
// deadline starts (Gateway.Recover, ExpireUnacknowledged, a retry) instead
// of sleeping; time still flows, so what is made later is later.
type Clock struct {
	offset atomic.Int64
}

var _ paygate.Clock = (*Clock)(nil)

// Now returns the wall clock plus what the clock was advanced.
func (c *Clock) Now() time.Time { return time.Now().UTC().Add(c.Offset()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Offset returns how far the clock was advanced.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// clockedIdempotency puts the HTTP server's idempotency leases on the
// test clock: the server stamps a key's claim with the wall clock, so the
// times it writes and the staleness cutoff it asks for are moved by the
// clock's offset. (Once the server reads its Clock for leases, this goes.)
type clockedIdempotency struct {
	paygate.IdempotencyStore
	clock *Clock
}

func (s clockedIdempotency) BeginIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord, staleBefore time.Time) (*paygate.IdempotencyRecord, error) {
	d := s.clock.Offset()
	rec.CreatedAt, rec.LockedAt = rec.CreatedAt.Add(d), rec.LockedAt.Add(d)
	return s.IdempotencyStore.BeginIdempotent(ctx, rec, staleBefore.Add(d))
}

// PastInDoubt advances the clock past the gateway's InDoubtAfter (its
// default, 2×NetworkTimeout+5s, when unset): every exchange under way
// before the call is old enough for Gateway.Recover.
func (g *Gateway) PastInDoubt() {
	d := g.Gateway.InDoubtAfter
	if d <= 0 {
		d = 2*g.Gateway.NetworkTimeout + 5*time.Second
	}
	g.Clock.Advance(d + time.Millisecond)
}
