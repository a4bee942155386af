package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// idempotency keeps idempotency records.
//
// Its writes are Lazy: a claim is followed by the durable record of the
// payment it guards, which makes the claim durable too; a completion lost
// in a crash leaves the key in flight, and whoever takes it over after the
// lease finds the payment by its idempotency key.
type idempotency struct{ *store }

var _ paygate.IdempotencyStore = idempotency{}

const (
	idemInsert = `INSERT INTO idempotency_keys (merchant_id, key, request_hash, done, status, created_at, locked_at)
		VALUES (?, ?, ?, FALSE, 0, ?, ?) ON CONFLICT (merchant_id, key) DO NOTHING`
	idemTakeOver = `UPDATE idempotency_keys SET locked_at = ? WHERE merchant_id = ? AND key = ? AND done = FALSE
		AND request_hash = ? AND locked_at < ?`
	idemSelect = `SELECT merchant_id, key, request_hash, done, status, body, created_at, locked_at FROM idempotency_keys
		WHERE merchant_id = ? AND key = ?`
	idemComplete = `UPDATE idempotency_keys SET done = TRUE, status = ?, body = ? WHERE merchant_id = ? AND key = ?`
	idemRelease  = `DELETE FROM idempotency_keys WHERE merchant_id = ? AND key = ? AND done = FALSE`
	idemUnlock   = `UPDATE idempotency_keys SET locked_at = 0 WHERE merchant_id = ? AND key = ? AND done = FALSE AND locked_at = ?`
	// idemPurge deletes a batch of records created before a time.
	idemPurge = `DELETE FROM idempotency_keys WHERE (merchant_id, key) IN
		(SELECT merchant_id, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`
)

func scanIdempotency(row Row) (*paygate.IdempotencyRecord, error) {
	var e paygate.IdempotencyRecord
	var created, locked sql.NullInt64
	if err := row.Scan(&e.MerchantID, &e.Key, &e.RequestHash, &e.Done, &e.Status, &e.Body, &created, &locked); err != nil {
		return nil, err
	}
	e.CreatedAt, e.LockedAt = fromTime(created), fromTime(locked)
	return &e, nil
}

// key is the lock key of an idempotency record (see Write.Key).
func idemKey(merchantID, key string) string {
	return "idempotency_keys/" + merchantID + "/" + key
}

// BeginIdempotent claims a key, or returns the record that holds it. A
// stale claim of the same request is taken over and rec.Recovered is set.
func (s idempotency) BeginIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord, staleBefore time.Time) (*paygate.IdempotencyRecord, error) {
	var existing *paygate.IdempotencyRecord
	var inserted bool
	insert := s.stmt(func(n int64, err error) error {
		existing, rec.Recovered, inserted = nil, false, n == 1
		if err != nil {
			return fmt.Errorf("insert idempotency key: %w", err)
		}
		return nil
	}, idemInsert, rec.MerchantID, rec.Key, rec.RequestHash, toTime(rec.CreatedAt), toTime(rec.LockedAt))
	// Only when the key is taken do the next steps run: an engine that
	// sends a batch's statements at once sends the insert with the rest.
	takenOver := func(tx Tx) error {
		if inserted {
			return nil
		}
		n, err := tx.Exec(s.d.SQL(idemTakeOver), toTime(rec.LockedAt), rec.MerchantID, rec.Key, rec.RequestHash, staleBefore.UnixMicro())
		if err != nil {
			return fmt.Errorf("take over idempotency key: %w", err)
		}
		if n == 1 {
			rec.Recovered = true
			return nil
		}
		if existing, err = scanIdempotency(tx.QueryRow(s.d.SQL(idemSelect), rec.MerchantID, rec.Key)); err != nil {
			return fmt.Errorf("select idempotency key: %w", err)
		}
		return nil
	}
	// One change at most: the insert, or else the take-over.
	err := s.db.Write(ctx, &Write{Key: idemKey(rec.MerchantID, rec.Key), Stmts: []Stmt{insert}, Then: takenOver, Lazy: true, single: true})
	if err != nil {
		rec.Recovered = false
		return nil, err
	}
	return existing, nil
}

// CompleteIdempotent stores the response of a claimed key.
func (s idempotency) CompleteIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.Write(ctx, &Write{Key: idemKey(rec.MerchantID, rec.Key), Lazy: true, Stmts: []Stmt{s.stmt(
		changed("complete idempotency key", errors.New("complete idempotency key: key vanished")),
		idemComplete, rec.Status, rec.Body, rec.MerchantID, rec.Key)}})
}

// ReleaseIdempotent deletes a key still in flight.
func (s idempotency) ReleaseIdempotent(ctx context.Context, merchantID, key string) error {
	return s.db.Write(ctx, &Write{Key: idemKey(merchantID, key), Lazy: true, Stmts: []Stmt{s.stmt(
		failed("release idempotency key"), idemRelease, merchantID, key)}})
}

// UnlockIdempotent ends rec's claim without an answer: the next request
// with the key takes it over at once.
func (s idempotency) UnlockIdempotent(ctx context.Context, rec *paygate.IdempotencyRecord) error {
	return s.db.Write(ctx, &Write{Key: idemKey(rec.MerchantID, rec.Key), Lazy: true, Stmts: []Stmt{s.stmt(
		failed("unlock idempotency key"), idemUnlock, rec.MerchantID, rec.Key, toTime(rec.LockedAt))}})
}

// purgeBatch is how many records one write of PurgeIdempotent deletes.
const purgeBatch = 1000

// expireBatch is how many payments' keys one write expires: each is a row
// rewritten and moved between two indexes, under SQLite's one writer.
const expireBatch = 200

// expiredBefore names the sequences row that holds how far keys have been
// expired: every payment created before it (microseconds since the epoch)
// has had its key expired.
const expiredBefore = "idempotency_expired_before"

// PurgeIdempotent deletes records created before t, and expires the keys
// of the payments that are their own records (clears their request hash),
// a batch per write so that no write holds the others up for long. Each
// write is Alone (it would hold its locks through a batch's other writes);
// the deletes Free.
func (s idempotency) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		stmt := s.stmt(counted("purge idempotency keys", &n), idemPurge, before.UnixMicro(), purgeBatch)
		err := s.db.Write(ctx, &Write{Key: "idempotency_keys/", Stmts: []Stmt{stmt}, Alone: true, Frees: true})
		total += n
		if err != nil {
			return total, err
		}
		if n < purgeBatch {
			break
		}
	}
	n, err := s.expirePayments(ctx, before)
	return total + n, err
}

// expirePayments clears the request hash of the payments created before t
// that are their keys' records (migration 0014), which frees their keys.
//
// It walks the payments by id, which starts with the creation time
// (paygate.IDFloor), from where the last run stopped (expiredBefore, less
// an hour for payments recorded late or by a node whose clock was behind)
// to t: each payment is read once or twice in all, not once a run, and
// the reading is done on the readers, not in the writer. (Reading the
// keyed payments for their creation time took the writer 150 ms for
// 74,000 of them, every run, growing with the day's sales.)
func (s idempotency) expirePayments(ctx context.Context, before time.Time) (int64, error) {
	var mark int64
	if err := s.queryRow(ctx, `SELECT next FROM sequences WHERE name = ?`, expiredBefore).Scan(&mark); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read how far keys are expired: %w", err)
	}
	from := ""
	if mark > 0 {
		from = paygate.IDFloor("pay", time.UnixMicro(mark).Add(-time.Hour))
	}
	to := paygate.IDFloor("pay", before.Add(time.Millisecond))
	var total int64
	for {
		ids, err := collect("payments with keys to expire", func(r Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		})(s.query(ctx, `SELECT id FROM payments WHERE id > ? AND id < ? AND request_hash <> '' AND created_at < ?
			ORDER BY id LIMIT ?`, from, to, before.UnixMicro(), expireBatch))
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
		}
		in, args := s.d.AnyOf("id", ids)
		var n int64
		stmt := s.stmt(counted("expire payments' idempotency keys", &n), `UPDATE payments SET request_hash = '' WHERE request_hash <> '' AND created_at < ? AND `+in,
			append([]any{before.UnixMicro()}, args...)...)
		if err := s.db.Write(ctx, &Write{Key: "payments/", Stmts: []Stmt{stmt}, Alone: true}); err != nil {
			return total, err
		}
		total += n
		from = ids[len(ids)-1]
		if len(ids) < expireBatch {
			break
		}
	}
	// How far the keys are expired, never moved back.
	mark = before.UnixMicro()
	advance := s.stmt(failed("record how far keys are expired"), `INSERT INTO sequences (name, next) VALUES (?, CAST(? AS BIGINT))
		ON CONFLICT (name) DO UPDATE SET next = CASE WHEN excluded.next > sequences.next THEN excluded.next ELSE sequences.next END`,
		expiredBefore, mark)
	return total, s.db.Write(ctx, &Write{Key: "sequences/" + expiredBefore, Stmts: []Stmt{advance}, Alone: true})
}
