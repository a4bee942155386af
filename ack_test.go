package paygate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// newAckFixture is a fixture whose merchant requires acknowledgments
// within five minutes.
func newAckFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.merchant.RequireAck, f.merchant.AckWindow = true, 5*time.Minute
	return f
}

func TestAck(t *testing.T) {
	f := newAckFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(5 * time.Minute); !p.RequireAck || !p.AckDeadline.Equal(want) {
		t.Fatalf("got require_ack %v deadline %v, want true %v", p.RequireAck, p.AckDeadline, want)
	}
	f.clock.Add(time.Minute)
	acked, err := f.g.Ack(context.Background(), f.merchant, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now(); !acked.AckedAt.Equal(want) || !f.mem.get(p.ID).AckedAt.Equal(want) {
		t.Errorf("acked at %v (stored %v), want %v", acked.AckedAt, f.mem.get(p.ID).AckedAt, want)
	}
	// Acknowledging again changes nothing.
	f.clock.Add(time.Minute)
	if again, err := f.g.Ack(context.Background(), f.merchant, p.ID); err != nil || !again.AckedAt.Equal(acked.AckedAt) {
		t.Errorf("second ack: got %v at %v, want the first ack's time %v", err, again.AckedAt, acked.AckedAt)
	}
	// Past the window, an acknowledged payment is not voided.
	f.clock.Add(time.Hour)
	if n, err := f.g.ExpireUnacknowledged(context.Background()); n != 0 || err != nil {
		t.Errorf("expire: %d %v, want 0", n, err)
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusCaptured {
		t.Errorf("got %s, want captured", got.Status)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("got %d requests, want only the sale", n)
	}
}

func TestAckWindowExpiryVoids(t *testing.T) {
	f := newAckFixture(t)
	p, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(4 * time.Minute)
	if n, err := f.g.ExpireUnacknowledged(context.Background()); n != 0 || err != nil {
		t.Fatalf("expire inside the window: %d %v, want 0", n, err)
	}
	f.clock.Add(2 * time.Minute)
	if n, err := f.g.ExpireUnacknowledged(context.Background()); n != 1 || err != nil {
		t.Fatalf("expire past the window: %d %v, want 1", n, err)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusVoided || got.VoidReason != paygate.VoidAckTimeout || !got.VoidedAt.Equal(f.clock.Now()) {
		t.Errorf("got %s %q voided at %v, want voided for ack_timeout now", got.Status, got.VoidReason, got.VoidedAt)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Kind != paygate.NetworkReverse || reqs[1].RRN != p.RRN || reqs[1].OriginalKind != paygate.NetworkAuthorize {
		t.Errorf("got requests %v, want the authorization and its reversal", reqs)
	}
}

func TestAckAfterVoidRefused(t *testing.T) {
	f := newAckFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(6 * time.Minute)
	if n, err := f.g.ExpireUnacknowledged(context.Background()); n != 1 || err != nil {
		t.Fatalf("expire: %d %v, want 1", n, err)
	}
	_, err = f.g.Ack(context.Background(), f.merchant, p.ID)
	if paygate.ErrorCode(err) != paygate.ECONFLICT || !strings.Contains(err.Error(), "not acknowledged in time") {
		t.Fatalf("got %v, want state_conflict saying it was not acknowledged in time", err)
	}
	if got := f.mem.get(p.ID); !got.AckedAt.IsZero() || got.Status != paygate.StatusVoided {
		t.Errorf("stored %s acked at %v, want voided and never acknowledged", got.Status, got.AckedAt)
	}

	// A payment the merchant voided itself is refused too.
	q, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.Void(context.Background(), f.merchant, q.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.Ack(context.Background(), f.merchant, q.ID); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("ack of a voided payment: got %v, want state_conflict", err)
	}
}
