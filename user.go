package paygate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
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
	// TOTPLastStep is the time step of the last code used: a code works
	// once.
	TOTPLastStep int64
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
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

// SetPasswordLifetime is how long a set-password link works.
const SetPasswordLifetime = 72 * time.Hour

// UserToken is a one-time set-password link's token, kept hashed.
type UserToken struct {
	ID         string // "ust_…"
	UserID     string
	MerchantID string
	TokenHash  string // HashToken of the token in the link
	ExpiresAt  time.Time
	UsedAt     time.Time
	CreatedAt  time.Time
}

// NewSetPasswordToken returns the token of a set-password link for u (to
// show once) and its record (to store).
func NewSetPasswordToken(u *User, now time.Time) (string, *UserToken) {
	now = now.Truncate(TimePrecision)
	token := "spw_" + RandomToken(40)
	return token, &UserToken{ID: NewID("ust", now), UserID: u.ID, MerchantID: u.MerchantID, TokenHash: HashToken(token),
		ExpiresAt: now.Add(SetPasswordLifetime), CreatedAt: now}
}

// HashToken is how a secret token (a session's, a set-password link's, a
// recovery code) is kept at rest: its SHA-256, hex. The tokens are random
// and long, so no slow hash is needed.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// PasswordHasher hashes passwords with a memory-hard function (package
// passwd: argon2id).
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches hash.
	Verify(hash, password string) (bool, error)
}

// Password lengths (NIST SP 800-63B: long passphrases welcome).
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// CheckPassword says what is wrong with a new password, if anything.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return ParamErrorf(EINVALID, "password", "Use at least %d characters.", MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return ParamErrorf(EINVALID, "password", "Use at most %d characters.", MaxPasswordLength)
	}
	return nil
}

// UserStore keeps dashboard users, their set-password tokens, recovery
// codes and failed sign-ins. A method given an *AuditEntry (nil: none)
// appends it in the same write as the change.
type UserStore interface {
	// CreateUser stores a new user and, if t is not nil, its set-password
	// token. An e-mail address already taken is ErrDuplicate.
	CreateUser(ctx context.Context, u *User, t *UserToken, a *AuditEntry) error
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail finds a user by their (normalized) address: ENOTFOUND
	// if there is none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// Users lists a merchant's users, oldest first.
	Users(ctx context.Context, merchantID string) ([]*User, error)
	// UpdateUser saves u's role, disabled flag, password hash, TOTP secret
	// and UpdatedAt. With endSessions (a new password), or when u is
	// disabled, their dashboard sessions but keepSession end in the same
	// write.
	UpdateUser(ctx context.Context, u *User, endSessions bool, keepSession string, a *AuditEntry) error
	CreateUserToken(ctx context.Context, t *UserToken, a *AuditEntry) error
	// SetPassword sets the password of the user of an unused, unexpired
	// token and uses the token up, at once; ENOTFOUND if no token fits.
	SetPassword(ctx context.Context, tokenHash, passwordHash string, now time.Time, a *AuditEntry) (*User, error)
	// UseTOTPStep records that the user signed in with the code of time
	// step step: false if a code of that step or a later one was used
	// already (a code works once).
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// SetRecoveryCodes replaces the user's recovery codes (hashed).
	SetRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time, a *AuditEntry) error
	// UseRecoveryCode uses up one of the user's unused codes: false if
	// none has that hash.
	UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// RecordSignInFailure counts a failed sign-in against each key (an
	// e-mail address, an IP address).
	RecordSignInFailure(ctx context.Context, keys []string, at time.Time) error
	// SignInFailures returns how many failures key has since then, and
	// the time of the latest.
	SignInFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	// ClearSignInFailures forgets key's failures (after a sign-in).
	ClearSignInFailures(ctx context.Context, key string) error
}
