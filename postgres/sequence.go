package postgres

import (
	"context"
	"fmt"

	"github.com/paygate/paygate"
)

// SequenceStore hands out blocks of numbers.
type SequenceStore struct{ db *DB }

var _ paygate.SequenceStore = (*SequenceStore)(nil)

// NewSequenceStore returns a store on db.
func NewSequenceStore(db *DB) *SequenceStore { return &SequenceStore{db: db} }

// Reserve durably reserves n numbers of the named sequence and returns the
// first.
//
// It commits on its own, outside the writers' batches: the statement is
// atomic by itself, and a batch would keep the sequence's row locked until
// all its writes are done, holding up every other writer that reserves
// (and risking lock-order deadlocks between batches).
func (s *SequenceStore) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve %d numbers: want a positive count", n)
	}
	var first int64
	err := s.db.pool.QueryRow(ctx, `INSERT INTO sequences (name, next) VALUES ($1, 1 + $2::bigint)
		ON CONFLICT (name) DO UPDATE SET next = sequences.next + $2::bigint RETURNING next - $2::bigint`, name, n).Scan(&first)
	if err != nil {
		return 0, fmt.Errorf("reserve from sequence %s: %w", name, err)
	}
	return first, nil
}
