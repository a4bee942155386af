package sqlstore

import (
	"context"
	"fmt"

	"github.com/paygate/paygate"
)

// sequences hands out blocks of numbers.
type sequences struct{ *store }

var _ paygate.SequenceStore = sequences{}

// Reserve durably reserves n numbers of the named sequence and returns the
// first. The write is Alone: the statement is atomic by itself, and a batch
// would keep the sequence's row locked until all its writes are done,
// holding up every other writer that reserves.
func (s sequences) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve %d numbers: want a positive count", n)
	}
	var first int64
	reserve := func(tx Tx) error {
		err := tx.QueryRow(s.d.SQL(`INSERT INTO sequences (name, next) VALUES (?, 1 + CAST(? AS BIGINT))
			ON CONFLICT (name) DO UPDATE SET next = sequences.next + CAST(? AS BIGINT) RETURNING next - CAST(? AS BIGINT)`),
			name, n, n, n).Scan(&first)
		if err != nil {
			return fmt.Errorf("reserve from sequence %s: %w", name, err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "sequences/" + name, Then: reserve, Alone: true, single: true}); err != nil {
		return 0, err
	}
	return first, nil
}
