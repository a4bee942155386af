package paygate

import (
	"context"
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
	// PurgeIdempotent deletes records created before t.
	PurgeIdempotent(ctx context.Context, before time.Time) (int64, error)
}
