package paygate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Gateway is the payment service: it validates requests, records every
// payment before its request goes to the network and completes it after,
// and undoes whatever a crash or a timeout left in doubt.
type Gateway struct {
	Merchants MerchantStore
	Payments  PaymentStore
	Cards     CardStore
	Vault     Vault
	Acquirer  Acquirer
	Clock     Clock
	Logger    *slog.Logger
	// Observer is told of payments and network exchanges (nil: nothing
	// is observed).
	Observer Observer

	// The browser models: hosted sessions, the merchants' signing
	// secrets, proxy deliveries still to retry, and the guarded client
	// that reaches merchants' sites. SessionLifetime defaults to
	// DefaultSessionLifetime.
	Sessions        SessionStore
	SigningSecrets  SigningSecretStore
	Deliveries      DeliveryStore
	Fetcher         Fetcher
	SessionLifetime time.Duration

	// Post-backs: the events outbox, the merchants' webhook endpoints and
	// their deliveries, the guarded client that posts them, and the check
	// of an endpoint's host when it is registered (nil: none).
	Events      EventStore
	Webhooks    WebhookStore
	Poster      Poster
	CheckTarget CheckTarget

	// The transparent redirect (tr.go): the merchants' access keys, and
	// how long a hashed form is accepted (0: DefaultTRLifetime).
	AccessKeys AccessKeyStore
	TRLifetime time.Duration

	// Settlement (settle.go): the batches, and the acquirer's settlement
	// side (0500/0320).
	Batches BatchStore
	Settler Settler

	// E-mail confirmations (mail.go): the outbox, and the sender (nil:
	// no SMTP server configured, mail is kept).
	Mail   MailStore
	Mailer MailSender

	// NetworkTimeout is the acquirer's answer timeout. Work in doubt is
	// only recovered once it is older than InDoubtAfter, which must be
	// comfortably longer.
	NetworkTimeout time.Duration
	InDoubtAfter   time.Duration

	// AuthorizationLifetime is how long an uncaptured authorization lives
	// before it is reversed and marked expired (default 7 days).
	AuthorizationLifetime time.Duration
	// Sequences hands out blocks of reference numbers; nil keeps them in
	// memory (tests only: numbers would repeat after a restart).
	Sequences SequenceStore
	// ConflictTimeout is how long a request retries a write that keeps
	// losing races to other changes of the same payment before it gives
	// up with EBUSY (default DefaultConflictTimeout), and how long a store
	// failure is retried when recording a refund's answer. Recording an
	// answer the network gave is retried past lost races for as long as
	// it takes.
	ConflictTimeout time.Duration

	numbers     numberBlock
	refundLocks [64]sync.Mutex
	bg          background // reversals handed off by requests; see Shutdown
}

// NewGateway returns a gateway with sane defaults; the stores, vault and
// acquirer must be set by the caller.
func NewGateway() *Gateway {
	g := &Gateway{Clock: SystemClock{}, Logger: slog.Default(), NetworkTimeout: 10 * time.Second}
	g.numbers.local.Store(rand.Int64N(1e9) * 1000)
	return g
}

// now reads the clock at the precision the stores keep.
func (g *Gateway) now() time.Time { return g.Clock.Now().UTC().Truncate(TimePrecision) }

func (g *Gateway) inDoubtAfter() time.Duration {
	if g.InDoubtAfter > 0 {
		return g.InDoubtAfter
	}
	return 2*g.NetworkTimeout + 5*time.Second
}

// transition loads a payment, lets change validate and modify it, and saves
// it, retrying when another request changed the payment in between.
func (g *Gateway) transition(ctx context.Context, merchantID, id string, change func(p *Payment) error) (*Payment, error) {
	for try := 0; ; try++ {
		p, err := g.Payments.Payment(ctx, merchantID, id)
		if err != nil {
			return nil, err
		}
		if err := change(p); err != nil {
			return p, err
		}
		p.UpdatedAt = g.now()
		err = g.Payments.UpdatePayment(ctx, p)
		if errors.Is(err, ErrVersionConflict) && try < 5 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update payment %s: %w", id, err)
		}
		return p, nil
	}
}

// DefaultConflictTimeout is how long a request retries a write that keeps
// losing races before it gives up with EBUSY.
const DefaultConflictTimeout = 5 * time.Second

func (g *Gateway) conflictTimeout() time.Duration {
	if g.ConflictTimeout > 0 {
		return g.ConflictTimeout
	}
	return DefaultConflictTimeout
}

// conflictBackoff waits before attempt try+1 of a write that lost a race:
// a random time, growing with try up to about 50 ms, so that contenders
// spread out instead of colliding again.
func conflictBackoff(ctx context.Context, try int) error {
	d := time.Millisecond << min(try, 5)
	t := time.NewTimer(d/2 + rand.N(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
