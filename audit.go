package paygate

import (
	"context"
	"time"
)

// Who acted, in an audit entry.
const (
	ActorUser   = "user"    // a dashboard user
	ActorAPIKey = "api_key" // a merchant's API key
	ActorCLI    = "cli"     // the operator, with the paygate command
)

// AuditEntry is one line of a merchant's audit log (PCI DSS 10): who, when,
// what, from where. The log is append-only: no store can change or delete
// an entry.
type AuditEntry struct {
	ID         string // "aud_…"
	MerchantID string
	ActorType  string // ActorUser, ActorAPIKey, ActorCLI
	ActorID    string // the user's or the key's id
	ActorEmail string // a user's address at the time
	Action     string // "user.sign_in", "payment.refund", "POST /v1/payments/{id}/capture", ...
	TargetID   string // the object acted on, if any
	Detail     string // short, never card data
	IP         string
	UserAgent  string
	CreatedAt  time.Time
}

// NewAuditEntry returns an entry of user u's action (u may be nil: the
// actor is then set by the caller).
func NewAuditEntry(u *User, action, target, detail string, now time.Time) *AuditEntry {
	now = now.Truncate(TimePrecision)
	a := &AuditEntry{ID: NewID("aud", now), Action: action, TargetID: target, Detail: RedactPANs(detail), CreatedAt: now}
	if u != nil {
		a.MerchantID, a.ActorType, a.ActorID, a.ActorEmail = u.MerchantID, ActorUser, u.ID, u.Email
	}
	if len(a.Detail) > 500 {
		a.Detail = a.Detail[:500]
	}
	return a
}

// From sets where the action came from and returns a.
func (a *AuditEntry) From(ip, userAgent string) *AuditEntry {
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	a.IP, a.UserAgent = ip, userAgent
	return a
}

// AuditFilter narrows a merchant's audit log; Before is an entry id to
// page from (newest first); Limit defaults to 50.
type AuditFilter struct {
	ActorID string
	Action  string // an exact action, or a prefix ending in "." ("user.")
	Before  string
	Limit   int
}

// AuditQueuer is an AuditStore that can take an entry without waiting for
// it to be written: done gets the outcome later, from a goroutine of its
// own, and AuditLog called after QueueAudit returned waits for the entry
// (on this node: another node may not list it until it is written).
type AuditQueuer interface {
	QueueAudit(ctx context.Context, a *AuditEntry, done func(error))
}

// AuditStore keeps the audit log. There is no method to change or delete
// an entry.
type AuditStore interface {
	AppendAudit(ctx context.Context, a *AuditEntry) error
	// AuditLog lists a merchant's entries, newest first.
	AuditLog(ctx context.Context, merchantID string, f AuditFilter) ([]*AuditEntry, error)
}
