package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// jobs leases background jobs to one node at a time.
type jobs struct{ *store }

var _ paygate.JobStore = jobs{}

// Claim takes or extends the lease on a job unless another holder's lease
// runs at now. The write is Alone, as Reserve's: the statement is atomic by
// itself (ON CONFLICT locks the job's row and checks the lease on its latest
// version), and a batch would hold that lock until all its writes are done.
func (s jobs) Claim(ctx context.Context, name, holder string, now time.Time, leaseFor time.Duration) (bool, error) {
	if leaseFor <= 0 {
		return false, fmt.Errorf("claim job %s: lease of %v: want a positive duration", name, leaseFor)
	}
	var ok bool
	claim := s.stmt(func(n int64, err error) error {
		ok = n == 1
		if err != nil {
			ok = false
			return fmt.Errorf("claim job %s: %w", name, err)
		}
		return nil
	}, `INSERT INTO jobs (name, holder, leased_until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
		WHERE jobs.leased_until <= ? OR jobs.holder = excluded.holder`,
		name, holder, now.Add(leaseFor).UnixMicro(), now.UnixMicro())
	err := s.db.Write(ctx, &Write{Key: "jobs/" + name, Stmts: []Stmt{claim}, Alone: true})
	return ok, err
}
