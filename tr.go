package paygate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The transparent redirect (seed 003): the merchant's own payment form
// posts the card from the customer's browser straight to the gateway
// (POST /tr), so that the card never touches the merchant's server; the
// gateway pays and sends the browser on to the merchant's success or
// decline URL with the signed result (trpay.go). Fields are named as seed
// 003's vendor names them (TRFields).
//
// The form is authenticated by its hash, which the merchant's server
// computes with its access key (accesskey.go) and puts in a hidden field:
//
//	hash = lowercase hex SHA-256 of
//	       account_id "," api_accesskey "," timestamp ["," success_url] ["," decline_url]
//	       ["," value of each field hash_key names, in hash_key's order]
//
// success_url and decline_url count when the form sends them (not empty);
// hash_key is a comma-separated list of field names. Seed 003's published
// examples print ", " (a comma and a space) before decline_url, and their
// hashes are of exactly that text: a hash of either spelling is accepted
// (TRHashString's asPrinted), compared in constant time. The timestamp is
// 10 digits of Unix time, accepted for TRLifetime (30 minutes by default)
// and up to SignatureTolerance ahead.
//
// Values are joined with bare commas, so a comma inside one would let the
// browser move text from one hashed field to the next (a success URL
// ending in ",1.00" and no hash_key hashes as a form whose hashed amount
// is 1.00): a hashed value holding a comma is refused, and so is one
// holding a control character or invalid UTF-8, which also keeps SHA-256's
// length extension (its padding holds NUL bytes) from adding a field.
//
// One signed form pays once: its payment is recorded under the
// idempotency key "tr_" + its hash (in the plain spelling), which the
// store keeps to one payment per merchant; the same form again shows that
// payment's result and charges nothing.

// DefaultTRLifetime is how long a hashed form is accepted (seed 003:
// "currently 30-minute life").
const DefaultTRLifetime = 30 * time.Minute

// MaxTRLifetime bounds a configured lifetime.
const MaxTRLifetime = 24 * time.Hour

// Transaction and tender types, as seed 003's vendor spells them. Wire
// names.
const (
	TRSale          = "SALE"          // authorize and capture
	TRAuthorization = "AUTHORIZATION" // authorize only
	TRTenderCard    = "CARD"
)

// TRCurrency is the currency of transparent redirect amounts: seed 003's
// forms carry none.
const TRCurrency = "USD"

// TRFields lists the fields a transparent redirect form may carry. The
// card fields are the customer's, typed in the merchant's form; the rest
// are hidden fields the merchant's server wrote. order_id is the
// merchant's order reference.
var TRFields = []string{"account_id", "timestamp", "success_url", "decline_url", "hash", "hash_key",
	"tender_type", "transaction_type", "transaction_amount", "transaction_description", "order_id",
	"first_name", "last_name", "card_number", "card_expiration", "card_verification"}

// TRHashable lists the fields hash_key may name: the transaction's. (The
// hash already covers account_id, timestamp and the URLs; the card fields
// are the customer's, which the merchant's server never sees.)
var TRHashable = []string{"tender_type", "transaction_type", "transaction_amount", "transaction_description", "order_id",
	"first_name", "last_name"}

// trCardFields are the customer's card fields.
var trCardFields = []string{"card_number", "card_expiration", "card_verification"}

// ErrTRSecurityViolation answers a form that sent the access key as a
// field of its own (seed 003's "Security Violation").
var ErrTRSecurityViolation = &Error{Code: ESECURITY, Param: "api_accesskey",
	Message: "Security Violation: the form sent api_accesskey as a field. The access key must never leave the merchant's server; it goes into the hash only. Nothing was charged."}

// TRHashString returns the text a form's hash covers, with accessKey and
// the fields names lists (the form's hash_key, parsed). asPrinted puts ", "
// before decline_url, as seed 003's examples print it.
func TRHashString(form url.Values, accessKey string, names []string, asPrinted bool) string {
	var b strings.Builder
	b.WriteString(form.Get("account_id"))
	b.WriteByte(',')
	b.WriteString(accessKey)
	b.WriteByte(',')
	b.WriteString(form.Get("timestamp"))
	if s := form.Get("success_url"); s != "" {
		b.WriteByte(',')
		b.WriteString(s)
	}
	if s := form.Get("decline_url"); s != "" {
		b.WriteByte(',')
		if asPrinted {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	for _, name := range names {
		b.WriteByte(',')
		b.WriteString(form.Get(name))
	}
	return b.String()
}

// TRHash returns the hash of a hash string: lowercase hex SHA-256.
func TRHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ParseHashKey reads a hash_key: field names separated by commas (spaces
// around them ignored), each of TRHashable, none twice.
func ParseHashKey(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var names []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return nil, ParamErrorf(EFORBIDDEN, "hash_key", "The form's hash_key has an empty name: it must be field names separated by commas, such as \"transaction_amount,transaction_type\".")
		case containsString(trCardFields, name):
			return nil, ParamErrorf(EFORBIDDEN, "hash_key", "The form's hash_key names %q: card fields are the customer's, never in the hash.", name)
		case !containsString(TRHashable, name):
			return nil, ParamErrorf(EFORBIDDEN, "hash_key", "The form's hash_key names %q, which is not one of the fields it may name (%s).",
				sanitize(name, 40), strings.Join(TRHashable, ", "))
		case containsString(names, name):
			return nil, ParamErrorf(EFORBIDDEN, "hash_key", "The form's hash_key names %q twice.", name)
		}
		names = append(names, name)
	}
	return names, nil
}

// checkHashable refuses a hashed value that could be read into the hash
// more than one way (a comma), or that holds a control character or
// invalid UTF-8.
func checkHashable(param, v string) error {
	switch {
	case strings.Contains(v, ","):
		return ParamErrorf(EFORBIDDEN, param, "The form's %s holds a comma, which the hash cannot tell from the commas between the hashed values: a hashed value must have none.", param)
	case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
		return ParamErrorf(EFORBIDDEN, param, "The form's %s holds a control character or invalid UTF-8.", param)
	}
	return nil
}

// checkTRHash checks the form's hash with the merchant's access keys in
// force and returns the hash of its plain spelling (what the form is known
// by), or an EFORBIDDEN *Error that says what is wrong without saying
// anything of the key.
func (g *Gateway) checkTRHash(ctx context.Context, m *Merchant, form url.Values) (string, error) {
	sent := strings.ToLower(strings.TrimSpace(form.Get("hash")))
	if sent == "" {
		return "", ParamErrorf(EFORBIDDEN, "hash", "The form has no hash: a transparent redirect form must be hashed with the account's access key.")
	}
	names, err := ParseHashKey(form.Get("hash_key"))
	if err != nil {
		return "", err
	}
	for _, name := range append([]string{"success_url", "decline_url"}, names...) {
		if err := checkHashable(name, form.Get(name)); err != nil {
			return "", err
		}
	}
	keys, err := g.accessKeys(ctx, m.ID)
	if err != nil {
		return "", err
	}
	// Every candidate is computed and compared, whichever matches.
	canonical, ok := "", false
	for _, k := range keys {
		plain := TRHash(TRHashString(form, k, names, false))
		match := hmac.Equal([]byte(sent), []byte(plain))
		if form.Get("decline_url") != "" {
			match = hmac.Equal([]byte(sent), []byte(TRHash(TRHashString(form, k, names, true)))) || match
		}
		if match && !ok {
			canonical, ok = plain, true
		}
	}
	if !ok {
		return "", ParamErrorf(EFORBIDDEN, "hash",
			"The form's hash does not match its fields and the account's access key: a hashed field was changed after the merchant's server hashed it, or the hash was made with another key, or in another order than hash_key names.")
	}
	return canonical, nil
}

// trViolation records that a form sent the access key as a field, for the
// merchant (when the account is known, which it returns), and returns
// ErrTRSecurityViolation. What is recorded never holds the value sent.
func (g *Gateway) trViolation(ctx context.Context, form url.Values) (*Merchant, error) {
	m, err := g.Merchants.Merchant(ctx, form.Get("account_id"))
	if err != nil {
		return nil, ErrTRSecurityViolation
	}
	what := "api_accesskey sent in the form"
	if keys, err := g.accessKeys(ctx, m.ID); err == nil {
		for _, k := range keys {
			for _, v := range form["api_accesskey"] {
				if hmac.Equal([]byte(strings.TrimSpace(v)), []byte(k)) {
					what = "api_accesskey sent in the form: it is one of the account's access keys, which must now be rotated (POST /v1/settings/api_accesskey)"
				}
			}
		}
	}
	if err := g.SecurityViolation(ctx, m.ID, what); err != nil {
		g.Logger.ErrorContext(ctx, "record a security violation", LogMerchantID, m.ID, LogError, err)
	}
	return m, ErrTRSecurityViolation
}

// trLifetime is how long a hashed form is accepted.
func (g *Gateway) trLifetime() time.Duration {
	if g.TRLifetime > 0 {
		return g.TRLifetime
	}
	return DefaultTRLifetime
}

// checkTRTimestamp checks a form's timestamp: 10 digits of Unix time, no
// older than the form's lifetime, no more than SignatureTolerance ahead.
func (g *Gateway) checkTRTimestamp(ts string) error {
	if len(ts) != 10 || strings.Trim(ts, "0123456789") != "" {
		return ParamErrorf(EINVALID, "timestamp", "The timestamp must be 10 digits of Unix time (seconds since 1970), such as 1360870400.")
	}
	_, err := CheckTimestamp("timestamp", ts, g.now(), g.trLifetime())
	return err
}
