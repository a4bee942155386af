package paygate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Everything the gateway sends a merchant outside the API (the Web Redirect's
// query, the Web Proxy's GET, post-backs) is signed one way, and so is the
// HTML form a merchant's page may post to start a payment:
//
//	signature = "v1," + base64(HMAC-SHA256(key, timestamp + "." + payload))
//
// key is the signing secret's bytes (the base64 after "whsec_"), timestamp
// is Unix seconds (sent alongside), payload is the exact bytes signed: for a
// query, CanonicalQuery (every parameter but "signature", sorted by name,
// URL-encoded). While a rotated secret overlaps its successor, a signature
// value carries one "v1,..." per secret, space-separated; a receiver accepts
// the message if any of them verifies with a secret it holds. The client
// package verifies with one call (client.VerifyQuery).

// SigningSecretPrefix starts every signing secret.
const SigningSecretPrefix = "whsec_"

// SigningSecretOverlap is how long a replaced signing secret still signs
// and verifies, so that a merchant can deploy the new one.
const SigningSecretOverlap = 24 * time.Hour

// SignatureTolerance is how far a signed timestamp may be from now.
const SignatureTolerance = 5 * time.Minute

// SigningSecret is one of a merchant's signing secrets, sealed by the vault.
type SigningSecret struct {
	ID         string
	MerchantID string
	Sealed     EncryptedPAN // the whole "whsec_..." text, sealed like a card number
	CreatedAt  time.Time
	// ExpiresAt is zero for the current secret; a replaced secret keeps
	// working until then (the end of its overlap).
	ExpiresAt time.Time
}

// SigningSecretStore keeps signing secrets.
type SigningSecretStore interface {
	// RotateSigningSecret stores s and, in the same transaction, sets
	// ExpiresAt = retireAt on the merchant's secrets that had none.
	RotateSigningSecret(ctx context.Context, s *SigningSecret, retireAt time.Time) error
	// SigningSecrets returns the merchant's secrets that have not expired
	// at now (ExpiresAt zero or after now), newest first.
	SigningSecrets(ctx context.Context, merchantID string, now time.Time) ([]*SigningSecret, error)
}

// NewSigningSecret returns a new secret: "whsec_" and the base64 of 32
// random bytes.
func NewSigningSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SigningKey returns the HMAC key of a signing secret.
func SigningKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SigningSecretPrefix)
	if !ok {
		return nil, fmt.Errorf("signing secret does not start with %s", SigningSecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 {
		return nil, fmt.Errorf("signing secret is not %s and the base64 of at least 24 bytes", SigningSecretPrefix)
	}
	return key, nil
}

// Sign returns the signature of payload at timestamp with one key.
func Sign(key []byte, timestamp int64, payload string) string {
	return signParts(key, []byte(strconv.FormatInt(timestamp, 10)), []byte(payload))
}

// signParts returns "v1," and the base64 HMAC-SHA256 with key of the parts
// joined by ".".
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

// WebhookSignature returns a post-back's webhook-signature header, as the
// Standard Webhooks specification makes it: for each key, "v1," and the
// base64 HMAC-SHA256 of id + "." + timestamp + "." + body, space-separated.
// (The scheme of Sign with the id in front: the id is signed too, so that
// a receiver that deduplicates on it cannot be fooled.)
func WebhookSignature(keys [][]byte, id string, timestamp int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = signParts(k, []byte(id), []byte(strconv.FormatInt(timestamp, 10)), body)
	}
	return strings.Join(sigs, " ")
}

// SignAll returns the space-separated signatures of payload with each key.
func SignAll(keys [][]byte, timestamp int64, payload string) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, timestamp, payload)
	}
	return strings.Join(sigs, " ")
}

// SignatureValid reports whether any "v1,..." in signature is the signature
// of payload at timestamp with any of keys. It compares in constant time.
// It does not check the timestamp's age (CheckTimestamp does).
func SignatureValid(keys [][]byte, signature string, timestamp int64, payload string) bool {
	sigs := strings.Fields(signature)
	if len(sigs) > MaxSignatures {
		return false
	}
	want := make([][]byte, len(keys))
	for i, k := range keys {
		want[i] = []byte(Sign(k, timestamp, payload))
	}
	ok := false
	for _, sig := range sigs {
		for _, w := range want {
			if hmac.Equal([]byte(sig), w) {
				ok = true
			}
		}
	}
	return ok
}

// MaxSignatures bounds the signatures one value may carry (a sender signs
// with at most the secrets of one rotation): more is refused unread.
const MaxSignatures = 5

// CheckTimestamp checks a signed Unix timestamp (text, as sent) against now:
// no older than maxAge, no more than SignatureTolerance in the future.
func CheckTimestamp(param, text string, now time.Time, maxAge time.Duration) (int64, error) {
	ts, err := strconv.ParseInt(text, 10, 64)
	if err != nil || ts <= 0 {
		return 0, ParamErrorf(EINVALID, param, "The timestamp must be Unix seconds.")
	}
	t := time.Unix(ts, 0)
	switch {
	case now.Sub(t) > maxAge:
		return 0, ParamErrorf(EINVALID, param, "The timestamp is more than %s old: the signed request has expired.", maxAge)
	case t.Sub(now) > SignatureTolerance:
		return 0, ParamErrorf(EINVALID, param, "The timestamp is in the future: check the clock of the server that signed it.")
	}
	return ts, nil
}

// CanonicalQuery is the payload a query's signature covers: every parameter
// except "signature", sorted by name (values in the order sent), encoded.
func CanonicalQuery(q url.Values) string {
	c := make(url.Values, len(q))
	for k, v := range q {
		if k != "signature" {
			c[k] = v
		}
	}
	return c.Encode()
}

// SignQuery sets q's "timestamp" to now and its "signature" over the rest.
func SignQuery(keys [][]byte, q url.Values, now time.Time) {
	ts := now.Unix()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Del("signature")
	q.Set("signature", SignAll(keys, ts, CanonicalQuery(q)))
}

// RotateSigningSecret makes the merchant a new signing secret and returns
// it, the one time it is shown. The secrets it replaces keep signing and
// verifying for SigningSecretOverlap.
func (g *Gateway) RotateSigningSecret(ctx context.Context, m *Merchant) (string, error) {
	if g.SigningSecrets == nil {
		return "", fmt.Errorf("no signing secret store")
	}
	now := g.now()
	secret := NewSigningSecret()
	sealed, err := g.Vault.Seal(secret)
	if err != nil {
		return "", fmt.Errorf("seal signing secret: %w", err)
	}
	s := &SigningSecret{ID: NewID("whsec", now), MerchantID: m.ID, Sealed: sealed, CreatedAt: now}
	if err := g.SigningSecrets.RotateSigningSecret(ctx, s, now.Add(SigningSecretOverlap)); err != nil {
		return "", fmt.Errorf("store signing secret: %w", err)
	}
	return secret, nil
}

// signingKeys returns the HMAC keys of the merchant's secrets in force,
// newest first, or a *Error if it has none.
func (g *Gateway) signingKeys(ctx context.Context, merchantID string) ([][]byte, error) {
	if g.SigningSecrets == nil {
		return nil, fmt.Errorf("no signing secret store")
	}
	list, err := g.SigningSecrets.SigningSecrets(ctx, merchantID, g.now())
	if err != nil {
		return nil, fmt.Errorf("load signing secrets: %w", err)
	}
	if len(list) == 0 {
		return nil, Errorf(ECONFLICT, "The merchant has no signing secret: create one first (POST /v1/settings/signing_secret).")
	}
	keys := make([][]byte, 0, len(list))
	for _, s := range list {
		text, err := g.Vault.Open(s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("open signing secret %s: %w", s.ID, err)
		}
		key, err := SigningKey(text)
		if err != nil {
			return nil, fmt.Errorf("signing secret %s: %w", s.ID, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}
