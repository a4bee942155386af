package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paygate/paygate"
)

// IdempotencyStore keeps idempotency records.
//
// Unlike sqlite's, its writes wait for their commit like every other write:
// with several writers committing side by side, a later durable write does
// not make an earlier one durable.
type IdempotencyStore struct{ db *DB }

var _ paygate.IdempotencyStore = (*IdempotencyStore)(nil)

// NewIdempotencyStore returns a store on db.
func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

const (
	idemInsert = `INSERT INTO idempotency_keys (merchant_id, key, request_hash, done, status, created_at, locked_at)
		VALUES ($1, $2, $3, FALSE, 0, $4, $5) ON CONFLICT (merchant_id, key) DO NOTHING`
	idemTakeOver = `UPDATE idempotency_keys SET locked_at = $1 WHERE merchant_id = $2 AND key = $3 AND NOT done
		AND request_hash = $4 AND locked_at < $5`
	idemSelect = `SELECT merchant_id, key, request_hash, done, status, body, created_at, locked_at FROM idempotency_keys
		WHERE merchant_id = $1 AND key = $2`
	idemComplete = `UPDATE idempotency_keys SET done = TRUE, status = $1, body = $2 WHERE merchant_id = $3 AND key = $4`
	idemRelease  = `DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND NOT done`
	idemUnlock   = `UPDATE idempotency_keys SET locked_at = 0 WHERE merchant_id = $1 AND key = $2 AND NOT done AND locked_at = $3`
)

// idemKey is the lock key of an idempotency record (see DB.write).
func idemKey(merchantID, key string) string {
	return "idempotency_keys/" + merchantID + "/" + key
}

// BeginIdempotent claims a key, or returns the record that holds it. A
// stale claim of the same request is taken over and rec.Recovered is set.
func (s *IdempotencyStore) BeginIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord, staleBefore time.Time) (*paygate.IdempotencyRecord, error) {
	var existing *paygate.IdempotencyRecord
	// The insert goes with the batch; only when the key is taken do the
	// next steps cost round trips of their own.
	insert := stmt{idemInsert, []any{rec.MerchantID, rec.Key, rec.RequestHash, toTime(rec.CreatedAt), toTime(rec.LockedAt)}}
	err := s.db.write(ctx, idemKey(rec.MerchantID, rec.Key), []stmt{insert}, func(tx *Tx, res []result) error {
		existing, rec.Recovered = nil, false
		if err := res[0].err; err != nil {
			return fmt.Errorf("insert idempotency key: %w", err)
		}
		if res[0].tag.RowsAffected() == 1 {
			return nil
		}
		tag, err := tx.Exec(idemTakeOver, toTime(rec.LockedAt), rec.MerchantID, rec.Key, rec.RequestHash, staleBefore.UnixMicro())
		if err != nil {
			return fmt.Errorf("take over idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			rec.Recovered = true
			return nil
		}
		var e paygate.IdempotencyRecord
		var created, locked pgtype.Int8
		err = tx.QueryRow(idemSelect, rec.MerchantID, rec.Key).Scan(&e.MerchantID, &e.Key, &e.RequestHash, &e.Done, &e.Status, &e.Body, &created, &locked)
		if err != nil {
			return fmt.Errorf("select idempotency key: %w", err)
		}
		e.CreatedAt, e.LockedAt = fromTime(created), fromTime(locked)
		existing = &e
		return nil
	})
	if err != nil {
		rec.Recovered = false
		return nil, err
	}
	return existing, nil
}

// CompleteIdempotent stores the response of a claimed key.
func (s *IdempotencyStore) CompleteIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.exec(ctx, idemKey(rec.MerchantID, rec.Key), func(tag pgconn.CommandTag, err error) error {
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errors.New("complete idempotency key: key vanished")
		}
		return nil
	}, idemComplete, rec.Status, rec.Body, rec.MerchantID, rec.Key)
}

// ReleaseIdempotent deletes a key still in flight.
func (s *IdempotencyStore) ReleaseIdempotent(ctx context.Context, merchantID, key string) error {
	return s.db.exec(ctx, idemKey(merchantID, key), func(_ pgconn.CommandTag, err error) error {
		if err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	}, idemRelease, merchantID, key)
}

// UnlockIdempotent ends rec's claim without an answer: the next request
// with the key takes it over at once.
func (s *IdempotencyStore) UnlockIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.exec(ctx, idemKey(rec.MerchantID, rec.Key), func(_ pgconn.CommandTag, err error) error {
		if err != nil {
			return fmt.Errorf("unlock idempotency key: %w", err)
		}
		return nil
	}, idemUnlock, rec.MerchantID, rec.Key, toTime(rec.LockedAt))
}

// purgeBatch is how many records one statement of PurgeIdempotent deletes.
const purgeBatch = 1000

// PurgeIdempotent deletes records created before t, a batch per statement.
// Each commits on its own, outside the writers' batches, so that it never
// holds their locks (PostgreSQL's autovacuum makes the space reusable).
func (s *IdempotencyStore) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE (merchant_id, key) IN
			(SELECT merchant_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`, before.UnixMicro(), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("purge idempotency keys: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}
