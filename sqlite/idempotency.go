package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// IdempotencyStore keeps idempotency records.
//
// Its writes do not wait for the disk (writeAsync): a claim is followed by
// the durable record of the payment it guards, which makes the claim durable
// too; a completion lost in a crash leaves the key in flight, and whoever
// takes it over after the lease finds the payment by its idempotency key.
type IdempotencyStore struct{ db *DB }

var _ paygate.IdempotencyStore = (*IdempotencyStore)(nil)

// NewIdempotencyStore returns a store on db.
func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

var (
	idemInsert = prepared(`INSERT INTO idempotency_keys (merchant_id, key, request_hash, done, status, created_at, locked_at)
		VALUES (?, ?, ?, 0, 0, ?, ?) ON CONFLICT (merchant_id, key) DO NOTHING`)
	idemTakeOver = prepared(`UPDATE idempotency_keys SET locked_at = ? WHERE merchant_id = ? AND key = ? AND done = 0
		AND request_hash = ? AND locked_at < ?`)
	idemSelect = prepared(`SELECT merchant_id, key, request_hash, done, status, body, created_at, locked_at FROM idempotency_keys
		WHERE merchant_id = ? AND key = ?`)
	idemComplete = prepared(`UPDATE idempotency_keys SET done = 1, status = ?, body = ? WHERE merchant_id = ? AND key = ?`)
	idemRelease  = prepared(`DELETE FROM idempotency_keys WHERE merchant_id = ? AND key = ? AND done = 0`)
	idemUnlock   = prepared(`UPDATE idempotency_keys SET locked_at = 0 WHERE merchant_id = ? AND key = ? AND done = 0 AND locked_at = ?`)
)

// BeginIdempotent claims a key, or returns the record that holds it. A
// stale claim of the same request is taken over and rec.Recovered is set.
func (s *IdempotencyStore) BeginIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord, staleBefore time.Time) (*paygate.IdempotencyRecord, error) {
	var existing *paygate.IdempotencyRecord
	err := s.db.writeAsync(ctx, func(tx *Tx) error {
		existing, rec.Recovered = nil, false
		res, err := tx.Exec(idemInsert, rec.MerchantID, rec.Key, rec.RequestHash, toTime(rec.CreatedAt), toTime(rec.LockedAt))
		if err != nil {
			return fmt.Errorf("insert idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		res, err = tx.Exec(idemTakeOver, toTime(rec.LockedAt), rec.MerchantID, rec.Key, rec.RequestHash, staleBefore.UnixMicro())
		if err != nil {
			return fmt.Errorf("take over idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			rec.Recovered = true
			return nil
		}
		var e paygate.IdempotencyRecord
		var created, locked sql.NullInt64
		err = tx.QueryRow(idemSelect, rec.MerchantID, rec.Key).Scan(&e.MerchantID, &e.Key, &e.RequestHash, &e.Done, &e.Status, &e.Body, &created, &locked)
		if err != nil {
			return fmt.Errorf("select idempotency key: %w", err)
		}
		e.CreatedAt, e.LockedAt = fromTime(created), fromTime(locked)
		existing = &e
		return nil
	})
	return existing, err
}

// CompleteIdempotent stores the response of a claimed key.
func (s *IdempotencyStore) CompleteIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.writeAsync(ctx, func(tx *Tx) error {
		res, err := tx.Exec(idemComplete, rec.Status, rec.Body, rec.MerchantID, rec.Key)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("complete idempotency key: key vanished")
		}
		return nil
	})
}

// ReleaseIdempotent deletes a key still in flight.
func (s *IdempotencyStore) ReleaseIdempotent(ctx context.Context, merchantID, key string) error {
	return s.db.writeAsync(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(idemRelease, merchantID, key); err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	})
}

// UnlockIdempotent ends rec's claim without an answer: the next request
// with the key takes it over at once.
func (s *IdempotencyStore) UnlockIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.writeAsync(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(idemUnlock, rec.MerchantID, rec.Key, toTime(rec.LockedAt)); err != nil {
			return fmt.Errorf("unlock idempotency key: %w", err)
		}
		return nil
	})
}

// purgeBatch is how many records one write of PurgeIdempotent deletes.
const purgeBatch = 1000

// PurgeIdempotent deletes records created before t, a batch per write so
// that the writer is never held up for long, and gives the pages they
// freed back to the file system (incremental auto-vacuum).
func (s *IdempotencyStore) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.db.write(ctx, func(tx *Tx) error {
			res, err := tx.Exec(`DELETE FROM idempotency_keys WHERE rowid IN
				(SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, before.UnixMicro(), purgeBatch)
			if err != nil {
				return fmt.Errorf("purge idempotency keys: %w", err)
			}
			n, _ = res.RowsAffected()
			if n > 0 {
				return incrementalVacuum(tx)
			}
			return nil
		})
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}
