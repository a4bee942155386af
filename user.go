package paygate

import (
	"net/mail"
	"strings"
	"time"
)

// Role is what a merchant's dashboard user may do. Stored and shown as is:
// never rename one.
type Role string

const (
	RoleAdmin    Role = "admin"    // everything: settings, keys, users, the audit log
	RoleOperator Role = "operator" // the Virtual Terminal, capture, void, refund
	RoleViewer   Role = "viewer"   // read only
)

// Roles lists the roles, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleViewer}

// Permission is one kind of thing a dashboard user may do.
type Permission int

const (
	PermView           Permission = iota // see payments, batches, deposits, settings
	PermPaymentActions                   // capture, void, refund
	PermTerminal                         // key in card numbers (the Virtual Terminal)
	PermSettings                         // change the merchant's settings
	PermKeys                             // API keys, signing secrets, access keys
	PermUsers                            // invite users, change roles, disable users
	PermAudit                            // read the audit log
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleViewer:
		return true
	}
	return false
}

// Can reports whether a user of role r has permission p.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleOperator:
		return p == PermView || p == PermPaymentActions || p == PermTerminal
	case RoleViewer:
		return p == PermView
	}
	return false
}

// NeedsSecondFactor reports whether a user of role r must sign in with a
// second factor: whoever can key in card numbers or manage keys (PCI DSS
// 8.4). It is optional for viewers.
func (r Role) NeedsSecondFactor() bool {
	return r.Can(PermTerminal) || r.Can(PermKeys)
}

// User is a person who signs in to a merchant's dashboard.
type User struct {
	ID         string // "usr_…"
	MerchantID string
	Email      string // lower case, unique across the gateway
	Role       Role
	// PasswordHash is the encoded memory-hard hash ("" until the user
	// sets a password through a set-password link).
	PasswordHash string
	// TOTPSecret is the base32 secret of the second factor, "" when the
	// user has not enrolled. It is stored as is, beside the password hash
	// (a code from it is useless without the password).
	TOTPSecret string
	Disabled   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Enrolled reports whether u has a second factor.
func (u *User) Enrolled() bool { return u.TOTPSecret != "" }

// NormalizeEmail checks an e-mail address and returns it in lower case.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", ParamErrorf(EINVALID, "email", "Enter a valid e-mail address.")
	}
	return s, nil
}

// NewUser returns a new user of a merchant, without a password.
func NewUser(merchantID, email string, role Role, now time.Time) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, ParamErrorf(EINVALID, "role", "Role must be admin, operator or viewer.")
	}
	now = now.Truncate(TimePrecision)
	return &User{ID: NewID("usr", now), MerchantID: merchantID, Email: email, Role: role, CreatedAt: now, UpdatedAt: now}, nil
}
