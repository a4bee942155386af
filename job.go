package paygate

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// JobStore leases background jobs to one node at a time. Every worker that
// nodes sharing a database would otherwise all run (pruning, and later
// settlement close and webhooks) claims its job here first.
type JobStore interface {
	// Claim gives holder the lease on the job called name until
	// now+leaseFor, and reports whether it did. It does when nobody holds
	// the lease, when the lease ended (at or before now), or when holder
	// already holds it (which extends it); while another holder's lease
	// runs, it reports false. Of several holders claiming a free job at
	// once, exactly one gets it.
	Claim(ctx context.Context, name, holder string, now time.Time, leaseFor time.Duration) (bool, error)
}

// NewHolder names this process as a lease holder: host, process id and a
// random part (two processes may share a host and, in containers, an id).
func NewHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), RandomToken(6))
}

// Periodic runs a job once per Every on one node of several. Each run is
// claimed in Jobs with a lease of Every: the other nodes skip the job until
// the lease ends, and if the node that ran it dies, one of them takes the
// job over once its lease has ended.
type Periodic struct {
	Name   string
	Every  time.Duration
	Jobs   JobStore
	Holder string // this node (NewHolder)
	Clock  Clock

	mu   sync.Mutex
	next time.Time // when this node tries to claim the job next
}

// Due reports whether the job is due and this node has claimed it: the
// caller runs it then. Between claims it asks the database nothing; after
// a lost claim it asks again every tenth of Every.
func (p *Periodic) Due(ctx context.Context) (bool, error) {
	now := p.Clock.Now().UTC().Truncate(TimePrecision)
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.next) {
		return false, nil
	}
	ok, err := p.Jobs.Claim(ctx, p.Name, p.Holder, now, p.Every)
	if err != nil {
		return false, err
	}
	if ok {
		p.next = now.Add(p.Every)
	} else {
		p.next = now.Add(p.Every / 10)
	}
	return ok, nil
}
