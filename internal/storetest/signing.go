package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var signingTests = []test{
	{"Rotate", testSigningRotate},
	{"Merchants", testSigningMerchants},
	{"RotateTogether", testSigningRotateTogether},
}

// NewSigningSecret returns a current (unexpired) secret created at the
// given time, its sealed bytes random.
func NewSigningSecret(tb testing.TB, merchantID string, created time.Time) *paygate.SigningSecret {
	tb.Helper()
	return &paygate.SigningSecret{
		ID:         paygate.NewID("whsec", created),
		MerchantID: merchantID,
		Sealed:     paygate.EncryptedPAN{KeyID: "dk_" + paygate.RandomToken(8), Ciphertext: randomBytes(tb, 60)},
		CreatedAt:  created,
	}
}

// mustRotate rotates in a new secret created at the given time, retiring
// the current one after paygate.SigningSecretOverlap.
func mustRotate(tb testing.TB, s Stores, merchantID string, at time.Time) *paygate.SigningSecret {
	tb.Helper()
	ss := NewSigningSecret(tb, merchantID, at)
	if err := s.Signing.RotateSigningSecret(tb.Context(), ss, at.Add(paygate.SigningSecretOverlap)); err != nil {
		tb.Fatalf("RotateSigningSecret at %s: %v", fmtTime(at), err)
	}
	return ss
}

// checkSecrets checks the merchant's secrets in force at now.
func checkSecrets(tb testing.TB, s Stores, merchantID string, now time.Time, want ...*paygate.SigningSecret) {
	tb.Helper()
	got, err := s.Signing.SigningSecrets(tb.Context(), merchantID, now)
	if err != nil {
		tb.Fatalf("SigningSecrets at %s: %v", fmtTime(now), err)
	}
	CheckEqual(tb, "SigningSecrets at "+fmtTime(now), got, want)
}

func testSigningRotate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	checkSecrets(t, s, m.ID, Base)

	s1 := mustRotate(t, s, m.ID, Base)
	checkSecrets(t, s, m.ID, Base, s1)
	checkSecrets(t, s, m.ID, Base.Add(365*24*time.Hour), s1) // a current secret never expires

	// Rotating retires the current secret after the overlap; both work
	// meanwhile, the newest first.
	at2 := Base.Add(time.Hour)
	s2 := mustRotate(t, s, m.ID, at2)
	s1.ExpiresAt = at2.Add(paygate.SigningSecretOverlap)
	checkSecrets(t, s, m.ID, at2, s2, s1)

	// A retired secret keeps its expiry when the next rotation comes.
	at3 := Base.Add(2 * time.Hour)
	s3 := mustRotate(t, s, m.ID, at3)
	s2.ExpiresAt = at3.Add(paygate.SigningSecretOverlap)
	checkSecrets(t, s, m.ID, at3, s3, s2, s1)

	// Expired at the instant of its expiry, not a microsecond before.
	checkSecrets(t, s, m.ID, s1.ExpiresAt.Add(-time.Microsecond), s3, s2, s1)
	checkSecrets(t, s, m.ID, s1.ExpiresAt, s3, s2)
	checkSecrets(t, s, m.ID, s2.ExpiresAt, s3)

	// A secret given an expiry of its own keeps it, and does not count
	// as current.
	at4 := Base.Add(3 * time.Hour)
	s4 := NewSigningSecret(t, m.ID, at4)
	s4.ExpiresAt = at4.Add(time.Minute)
	if err := s.Signing.RotateSigningSecret(t.Context(), s4, at4.Add(paygate.SigningSecretOverlap)); err != nil {
		t.Fatalf("RotateSigningSecret(with an expiry): %v", err)
	}
	s3.ExpiresAt = at4.Add(paygate.SigningSecretOverlap)
	checkSecrets(t, s, m.ID, at4, s4, s3, s2, s1)
	s5 := mustRotate(t, s, m.ID, at4.Add(time.Second))
	checkSecrets(t, s, m.ID, at4.Add(time.Second), s5, s4, s3, s2, s1)

	dup := NewSigningSecret(t, m.ID, at4)
	dup.ID = s5.ID
	if err := s.Signing.RotateSigningSecret(t.Context(), dup, at4.Add(time.Hour)); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("RotateSigningSecret with a taken id: got %v, want ErrDuplicate", err)
	}
	// ... and retired nothing.
	checkSecrets(t, s, m.ID, at4.Add(time.Second), s5, s4, s3, s2, s1)

	ghost := NewSigningSecret(t, paygate.NewID("acct", Base), Base)
	checkCode(t, "RotateSigningSecret(unknown merchant)",
		s.Signing.RotateSigningSecret(t.Context(), ghost, Base.Add(time.Hour)), paygate.ENOTFOUND)
}

func testSigningMerchants(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	mine := mustRotate(t, s, m.ID, Base)
	theirs := mustRotate(t, s, other.ID, Base.Add(time.Second))
	// Another merchant's rotation retires none of m's.
	theirs2 := mustRotate(t, s, other.ID, Base.Add(2*time.Second))
	theirs.ExpiresAt = Base.Add(2 * time.Second).Add(paygate.SigningSecretOverlap)

	checkSecrets(t, s, m.ID, Base.Add(time.Minute), mine)
	checkSecrets(t, s, other.ID, Base.Add(time.Minute), theirs2, theirs)
	checkSecrets(t, s, paygate.NewID("acct", Base), Base.Add(time.Minute))
}

// testSigningRotateTogether has several rotations of one merchant's secret
// run at once: every one succeeds, and one secret is current after them.
func testSigningRotateTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	mustRotate(t, s, m.ID, Base)
	const n = 5
	at := Base.Add(time.Hour)
	for i, err := range race(n, func(int) error {
		return s.Signing.RotateSigningSecret(t.Context(), NewSigningSecret(t, m.ID, at), at.Add(paygate.SigningSecretOverlap))
	}) {
		if err != nil {
			t.Errorf("RotateSigningSecret #%d: %v", i, err)
		}
	}
	list, err := s.Signing.SigningSecrets(t.Context(), m.ID, at)
	if err != nil {
		t.Fatalf("SigningSecrets: %v", err)
	}
	current := 0
	for _, ss := range list {
		if ss.ExpiresAt.IsZero() {
			current++
		}
	}
	if len(list) != n+1 || current != 1 {
		t.Errorf("after %d rotations at once: got %d secrets, %d current; want %d, 1 current", n, len(list), current, n+1)
	}
}
