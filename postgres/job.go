package postgres

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
//
// It commits on its own, outside the writers' batches, as Reserve does: the
// statement is atomic by itself (ON CONFLICT locks the job's row and checks
// the lease on its latest version), and a batch would hold that lock until
// all its writes are done.
func (s *JobStore) Claim(ctx context.Context, name, holder string, now time.Time, leaseFor time.Duration) (bool, error) {
	if leaseFor <= 0 {
		return false, fmt.Errorf("claim job %s: lease of %v: want a positive duration", name, leaseFor)
	}
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO jobs (name, holder, leased_until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
		WHERE jobs.leased_until <= $4 OR jobs.holder = excluded.holder`,
		name, holder, now.Add(leaseFor).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("claim job %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}
