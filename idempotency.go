package paygate

import (
	"context"
	"fmt"
	"time"
)

// IdempotencyTTL is how long idempotency keys are kept.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKey is the longest key accepted.
const MaxIdempotencyKey = 255

// IdempotencyRecord is one merchant's use of one Idempotency-Key. It holds a
// keyed hash of the request (never the request, which may carry a card) and,
// once done, the response to replay (which never carries a card number).
type IdempotencyRecord struct {
	MerchantID  string
	Key         string
	RequestHash string
	Done        bool
	Status      int
	Body        []byte
	CreatedAt   time.Time
	LockedAt    time.Time
	// Recovered is set by BeginIdempotent when it took over a stale claim:
	// the first attempt may have done its work without recording a
	// response, so the handler must look for that work first.
	Recovered bool
}

// IdempotencyStore keeps idempotency records.
type IdempotencyStore interface {
	// BeginIdempotent inserts rec, locked. If the key is taken it returns
	// the existing record instead, unless that record is in flight and its
	// lock is older than staleBefore: then rec takes over the lock and nil
	// is returned.
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord, staleBefore time.Time) (existing *IdempotencyRecord, err error)
	// CompleteIdempotent stores the response to replay.
	CompleteIdempotent(ctx context.Context, rec *IdempotencyRecord) error
	// ReleaseIdempotent forgets a key whose request changed nothing.
	ReleaseIdempotent(ctx context.Context, merchantID, key string) error
	// UnlockIdempotent ends rec's claim of its key, still in flight,
	// without an answer (its request failed with the outcome unknown): the
	// next BeginIdempotent of the same request takes it over at once, as
	// a stale claim (Recovered). A claim taken over by another request
	// meanwhile (its LockedAt differs) is left alone.
	UnlockIdempotent(ctx context.Context, rec *IdempotencyRecord) error
	// PurgeIdempotent deletes records created before t and returns how
	// many. It deletes a batch at a time, so that other writes go on
	// meanwhile.
	PurgeIdempotent(ctx context.Context, before time.Time) (int64, error)
}

// Pruning of expired idempotency records.
const (
	// PruneIdempotencyJob is the job nodes claim to prune (see JobStore).
	PruneIdempotencyJob = "prune-idempotency"
	// PruneIdempotencyEvery is how often the records are pruned: a record
	// lives at most IdempotencyTTL plus this.
	PruneIdempotencyEvery = time.Hour
)

// IdempotencyPruner deletes the idempotency records older than
// IdempotencyTTL, on one node of several at a time (see Periodic).
type IdempotencyPruner struct {
	Store IdempotencyStore
	Job   Periodic
}

// NewIdempotencyPruner returns a pruner for this node (holder), which
// claims the job in jobs every PruneIdempotencyEvery of clock.
func NewIdempotencyPruner(s IdempotencyStore, jobs JobStore, holder string, clock Clock) *IdempotencyPruner {
	return &IdempotencyPruner{Store: s, Job: Periodic{Name: PruneIdempotencyJob, Every: PruneIdempotencyEvery, Jobs: jobs, Holder: holder, Clock: clock}}
}

// Prune deletes the expired records if pruning is due and this node has
// claimed it; ran says whether it did.
func (p *IdempotencyPruner) Prune(ctx context.Context) (n int64, ran bool, err error) {
	due, err := p.Job.Due(ctx)
	if err != nil || !due {
		return 0, false, err
	}
	n, err = p.Store.PurgeIdempotent(ctx, p.Job.Clock.Now().Add(-IdempotencyTTL))
	if err != nil {
		return n, true, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, true, nil
}
