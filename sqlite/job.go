package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// JobStore leases background jobs to one node at a time.
type JobStore struct{ db *DB }

var _ paygate.JobStore = (*JobStore)(nil)

// NewJobStore returns a store on db.
func NewJobStore(db *DB) *JobStore { return &JobStore{db: db} }

// Claim takes or extends the lease on a job unless another holder's lease
// runs at now.
func (s *JobStore) Claim(ctx context.Context, name, holder string, now time.Time, leaseFor time.Duration) (bool, error) {
	if leaseFor <= 0 {
		return false, fmt.Errorf("claim job %s: lease of %v: want a positive duration", name, leaseFor)
	}
	var ok bool
	err := s.db.writeSingle(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`INSERT INTO jobs (name, holder, leased_until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
			WHERE jobs.leased_until <= ? OR jobs.holder = excluded.holder`,
			name, holder, now.Add(leaseFor).UnixMicro(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("claim job %s: %w", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("claim job %s: %w", name, err)
		}
		ok = n == 1
		return nil
	})
	return ok, err
}
