package sqlite

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
func (s *SequenceStore) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve %d numbers: want a positive count", n)
	}
	var first int64
	err := s.db.write(ctx, func(tx *Tx) error {
		err := tx.QueryRow(`INSERT INTO sequences (name, next) VALUES (?, 1 + ?) ON CONFLICT (name) DO UPDATE SET next = next + ?
			RETURNING next - ?`, name, n, n, n).Scan(&first)
		if err != nil {
			return fmt.Errorf("reserve from sequence %s: %w", name, err)
		}
		return nil
	})
	return first, err
}
