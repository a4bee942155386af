package paygate

import (
	"context"
	"fmt"
	"time"
)

// Dashboard sign-in rules. Failures are counted in the database, so every
// node agrees: an address with SignInMaxFailures failures in SignInWindow
// is locked until they age out of it, and an IP address that failed
// SignInIPMaxFailures times in the window may not try at all.
const (
	SignInMaxFailures   = 5
	SignInIPMaxFailures = 20
	SignInWindow        = 15 * time.Minute
)

// Dashboard sessions: signed out after DashIdleTimeout without a request,
// and after DashMaxLifetime in any case.
const (
	DashIdleTimeout = 15 * time.Minute
	DashMaxLifetime = 12 * time.Hour
)

// Sign-in housekeeping: ended sessions and failures older than
// SignInFailureTTL (far past any window) are deleted every
// PruneSignInsEvery, by one node of several at a time.
const (
	SignInFailureTTL  = 24 * time.Hour
	PruneSignInsJob   = "prune-sign-ins"
	PruneSignInsEvery = 5 * time.Minute
)

// DashSession is a signed-in dashboard session, kept in the database so
// that any node serves it. Its token (the cookie) is kept hashed.
type DashSession struct {
	ID         string // "dss_…"
	TokenHash  string
	UserID     string
	MerchantID string
	// Verified says the second factor was given (or the user has none and
	// needs none); until then the session may only finish signing in.
	Verified   bool
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// NewDashSession returns a new session of u (its token, to set as the
// cookie, and its record).
func NewDashSession(u *User, verified bool, ip, userAgent string, now time.Time) (string, *DashSession) {
	now = now.Truncate(TimePrecision)
	token := "dst_" + RandomToken(40)
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	return token, &DashSession{ID: NewID("dss", now), TokenHash: HashToken(token), UserID: u.ID, MerchantID: u.MerchantID,
		Verified: verified, IP: ip, UserAgent: userAgent, CreatedAt: now, LastSeenAt: now}
}

// Expired reports whether the session has ended by now.
func (s *DashSession) Expired(now time.Time) bool {
	return now.Sub(s.LastSeenAt) >= DashIdleTimeout || now.Sub(s.CreatedAt) >= DashMaxLifetime
}

// DashSessionStore keeps dashboard sessions.
type DashSessionStore interface {
	CreateDashSession(ctx context.Context, s *DashSession, a *AuditEntry) error
	// DashSession finds a session by its token's hash: ENOTFOUND if none.
	DashSession(ctx context.Context, tokenHash string) (*DashSession, error)
	// TouchDashSession moves a session's LastSeenAt.
	TouchDashSession(ctx context.Context, id string, at time.Time) error
	// DeleteDashSession ends a session (no error if it has ended).
	DeleteDashSession(ctx context.Context, id string, a *AuditEntry) error
	// PruneSignIns deletes the sessions last seen before idleBefore or
	// created before createdBefore, and the sign-in failures before
	// failedBefore, a bounded batch at a time until none is left; it
	// returns how many rows it deleted.
	PruneSignIns(ctx context.Context, idleBefore, createdBefore, failedBefore time.Time) (int64, error)
}

// SignInPruner deletes ended dashboard sessions and old sign-in failures,
// on one node of several at a time (see Periodic).
type SignInPruner struct {
	Store DashSessionStore
	Job   Periodic
}

// NewSignInPruner returns a pruner for this node (holder), which claims the
// job in jobs every PruneSignInsEvery of clock.
func NewSignInPruner(s DashSessionStore, jobs JobStore, holder string, clock Clock) *SignInPruner {
	return &SignInPruner{Store: s, Job: Periodic{Name: PruneSignInsJob, Every: PruneSignInsEvery, Jobs: jobs, Holder: holder, Clock: clock}}
}

// Prune deletes what has ended if pruning is due and this node claimed it;
// ran says whether it did.
func (p *SignInPruner) Prune(ctx context.Context) (n int64, ran bool, err error) {
	due, err := p.Job.Due(ctx)
	if err != nil || !due {
		return 0, false, err
	}
	now := p.Job.Clock.Now()
	n, err = p.Store.PruneSignIns(ctx, now.Add(-DashIdleTimeout), now.Add(-DashMaxLifetime), now.Add(-SignInFailureTTL))
	if err != nil {
		return n, true, fmt.Errorf("prune sign-ins: %w", err)
	}
	return n, true, nil
}
