package paygate

import (
	"context"
	"time"
)

// Backlog is what waits in the database for the background work, as the
// metrics show it.
type Backlog struct {
	// InDoubt counts payments left pending, capturing or voiding, and
	// refunds left pending, last changed before the cutoff given: their
	// exchange with the network is unfinished and recovery owes them.
	InDoubt int64
	// Webhooks counts post-back deliveries still to make (pending).
	Webhooks int64
	// Mail counts e-mail still to send (queued).
	Mail int64
}

// BacklogStore counts the backlog. Each count runs on a partial index of
// what it counts, so it stays cheap however large the tables grow.
type BacklogStore interface {
	Backlog(ctx context.Context, inDoubtBefore time.Time) (Backlog, error)
}
