package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// What the gateway sends your site outside the API — the Web Redirect's
// query, the Web Proxy's GET — is signed with your signing secret
// ("whsec_...", from RotateSigningSecret), and so is the payment form your
// page posts to the gateway (SignForm):
//
//	signature = "v1," + base64(HMAC-SHA256(key, timestamp + "." + payload))
//
// key is the secret's bytes (the base64 after "whsec_"); timestamp is Unix
// seconds, sent as the "timestamp" parameter; payload is every parameter
// but "signature", sorted by name and URL-encoded (url.Values.Encode). While
// a replaced secret overlaps its successor (24 hours) the signature
// parameter holds one "v1,..." per secret, space-separated, and one valid
// signature suffices. The known-answer vectors in testdata/signatures.json
// were computed independently of this code.

// SigningSecretPrefix starts every signing secret.
const SigningSecretPrefix = "whsec_"

// SignatureTolerance is how far from now a signed timestamp from the
// gateway may be.
const SignatureTolerance = 5 * time.Minute

// Errors of VerifyQuery and VerifyRequest; test with errors.Is. The
// signature is checked before the timestamp, so ErrExpired means the
// message was genuine.
var (
	// ErrBadSignature: the message was not signed by the gateway with a
	// secret you hold, or was changed since (or the signature or the
	// timestamp is missing). Refuse it.
	ErrBadSignature = errors.New("paygate: bad signature")
	// ErrExpired: the signature is good but its timestamp is more than
	// SignatureTolerance from now: an old link replayed or bookmarked, or
	// a clock that is wrong. Ask the gateway (Client.Session) instead.
	ErrExpired = errors.New("paygate: signed message expired")
)

// Outcome is how a hosted payment session ended.
type Outcome string

// Session outcomes.
const (
	OutcomeApproved Outcome = "approved"
	OutcomeDeclined Outcome = "declined" // declined as many times as the session allows
	OutcomeCanceled Outcome = "canceled" // the customer went back without paying
)

// Result is a session's outcome as the gateway's signed redirect or proxy
// GET carries it. Fields the outcome does not have are empty: a canceled
// session has no payment, an approval no decline code.
type Result struct {
	SessionID          string  // "cs_..."
	Outcome            Outcome // the "result" parameter
	PaymentID          string  // the payment that ended the session
	Status             Status  // the payment's status, such as StatusCaptured
	Amount             int64   // minor units
	Currency           string
	OrderID            string
	Sequence           int // the number of the attempt that ended the session
	CardBrand          string
	CardLast4          string
	ConfirmationNumber string // after an approval: show it to the customer
	DeclineCode        string // after the last decline, such as "insufficient_funds"
	Timestamp          time.Time

	// Params holds every signed parameter (all but "signature"), your own
	// ones from the return URL among them: they are as you set them.
	Params url.Values
}

// VerifyRequest checks the signature of a request from the gateway (the
// customer's browser arriving on your return URL, or the gateway's own GET
// of your response URL) and returns the result it carries. It reads r's
// URL query only. See VerifyQuery.
func VerifyRequest(r *http.Request, now time.Time, secrets ...string) (*Result, error) {
	return VerifyQuery(r.URL.Query(), now, secrets...)
}

// VerifyQuery checks a signed query from the gateway with your signing
// secrets (give the old and the new one while you roll a rotation out)
// and returns the result it carries. It fails with ErrBadSignature unless
// a signature matches (compared in constant time), then with ErrExpired if
// the timestamp is more than SignatureTolerance away from now. Anything
// else (no secret, a secret that is not "whsec_...") is a plain error.
func VerifyQuery(q url.Values, now time.Time, secrets ...string) (*Result, error) {
	t, err := verifySigned(q, now, secrets)
	if err != nil {
		return nil, err
	}
	return parseResult(q, t)
}

// verifySigned checks a signed query's signature with secrets, then its
// timestamp against now, and returns the time it was signed at: what
// VerifyQuery and VerifyTransparentRedirect have in common, the one check
// of the gateway's signature on a query.
func verifySigned(q url.Values, now time.Time, secrets []string) (time.Time, error) {
	keys, err := signingKeys(secrets)
	if err != nil {
		return time.Time{}, err
	}
	sig := q.Get("signature")
	if sig == "" {
		return time.Time{}, fmt.Errorf("%w: the query has no signature parameter", ErrBadSignature)
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil || ts <= 0 {
		return time.Time{}, fmt.Errorf("%w: the query has no timestamp parameter in Unix seconds", ErrBadSignature)
	}
	if !signatureValid(keys, sig, ts, canonicalQuery(q)) {
		return time.Time{}, fmt.Errorf("%w: no signature matches the query with the secrets given", ErrBadSignature)
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > SignatureTolerance || d < -SignatureTolerance {
		return time.Time{}, fmt.Errorf("%w: signed at %s, %s from now; the tolerance is %s", ErrExpired,
			t.UTC().Format(time.RFC3339), d.Abs().Round(time.Second), SignatureTolerance)
	}
	return t, nil
}

func parseResult(q url.Values, t time.Time) (*Result, error) {
	r := &Result{
		SessionID:          q.Get("session_id"),
		Outcome:            Outcome(q.Get("result")),
		PaymentID:          q.Get("payment_id"),
		Status:             Status(q.Get("status")),
		Currency:           q.Get("currency"),
		OrderID:            q.Get("order_id"),
		CardBrand:          q.Get("card_brand"),
		CardLast4:          q.Get("card_last4"),
		ConfirmationNumber: q.Get("confirmation_number"),
		DeclineCode:        q.Get("decline_code"),
		Timestamp:          t,
		Params:             url.Values{},
	}
	for k, v := range q {
		if k != "signature" {
			r.Params[k] = append([]string(nil), v...)
		}
	}
	var err error
	if s := q.Get("amount"); s != "" {
		if r.Amount, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("paygate: the signed amount %q is not a number", s)
		}
	}
	if s := q.Get("sequence"); s != "" {
		if r.Sequence, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("paygate: the signed sequence %q is not a number", s)
		}
	}
	return r, nil
}

// signingKeys decodes secrets into HMAC keys. Its errors never show a
// secret.
func signingKeys(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, errors.New("paygate: no signing secret given")
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		b64, ok := strings.CutPrefix(strings.TrimSpace(s), SigningSecretPrefix)
		key, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || len(key) < 24 {
			return nil, fmt.Errorf("paygate: signing secret %d of %d is not %s and the base64 of at least 24 bytes",
				i+1, len(secrets), SigningSecretPrefix)
		}
		keys[i] = key
	}
	return keys, nil
}

// sign returns the signature of payload at timestamp with one key.
func sign(key []byte, timestamp int64, payload string) string {
	return signParts(key, []byte(strconv.FormatInt(timestamp, 10)), []byte(payload))
}

// signParts returns "v1," and the base64 HMAC-SHA256 with key of the parts
// joined by ".": timestamp.payload for what the gateway signs in a query,
// id.timestamp.body for a post-back (Standard Webhooks).
func signParts(key []byte, parts ...[]byte) string {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{'.'})
		}
		m.Write(p)
	}
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatureValid reports whether any "v1,..." in signature is payload's
// signature at timestamp with any of keys, comparing in constant time.
func signatureValid(keys [][]byte, signature string, timestamp int64, payload string) bool {
	return anySignatureValid(keys, signature, []byte(strconv.FormatInt(timestamp, 10)), []byte(payload))
}

// anySignatureValid reports whether any of the space-separated signatures
// is the signature of parts (signParts) with any of keys, comparing in
// constant time. Signatures of other schemes ("v1a,...") match nothing.
func anySignatureValid(keys [][]byte, signature string, parts ...[]byte) bool {
	want := make([][]byte, len(keys))
	for i, k := range keys {
		want[i] = []byte(signParts(k, parts...))
	}
	ok := false
	for _, sig := range strings.Fields(signature) {
		for _, w := range want {
			if hmac.Equal([]byte(sig), w) {
				ok = true
			}
		}
	}
	return ok
}

// canonicalQuery is what a query's signature covers: every parameter but
// "signature", sorted by name, encoded.
func canonicalQuery(q url.Values) string {
	c := make(url.Values, len(q))
	for k, v := range q {
		if k != "signature" {
			c[k] = v
		}
	}
	return c.Encode()
}
