package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var accessKeyTests = []test{
	{"Rotate", testAccessKeyRotate},
	{"Merchants", testAccessKeyMerchants},
	{"RotateTogether", testAccessKeyRotateTogether},
}

// NewAccessKey returns a current (unexpired) access key created at the
// given time, its sealed bytes random.
func NewAccessKey(tb testing.TB, merchantID string, created time.Time) *paygate.AccessKey {
	tb.Helper()
	return &paygate.AccessKey{
		ID:         paygate.NewID("ak", created),
		MerchantID: merchantID,
		Sealed:     paygate.EncryptedPAN{KeyID: "dk_" + paygate.RandomToken(8), Ciphertext: randomBytes(tb, 52)},
		CreatedAt:  created,
	}
}

// mustRotateAccessKey rotates in a new access key created at the given
// time, retiring the current one after paygate.AccessKeyOverlap.
func mustRotateAccessKey(tb testing.TB, s Stores, merchantID string, at time.Time) *paygate.AccessKey {
	tb.Helper()
	k := NewAccessKey(tb, merchantID, at)
	if err := s.AccessKeys.RotateAccessKey(tb.Context(), k, at.Add(paygate.AccessKeyOverlap)); err != nil {
		tb.Fatalf("RotateAccessKey at %s: %v", fmtTime(at), err)
	}
	return k
}

// checkAccessKeys checks the merchant's access keys in force at now.
func checkAccessKeys(tb testing.TB, s Stores, merchantID string, now time.Time, want ...*paygate.AccessKey) {
	tb.Helper()
	got, err := s.AccessKeys.AccessKeys(tb.Context(), merchantID, now)
	if err != nil {
		tb.Fatalf("AccessKeys at %s: %v", fmtTime(now), err)
	}
	CheckEqual(tb, "AccessKeys at "+fmtTime(now), got, want)
}

func testAccessKeyRotate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	checkAccessKeys(t, s, m.ID, Base)

	k1 := mustRotateAccessKey(t, s, m.ID, Base)
	checkAccessKeys(t, s, m.ID, Base, k1)
	checkAccessKeys(t, s, m.ID, Base.Add(365*24*time.Hour), k1) // a current key never expires

	// Rotating retires the current key after the overlap; both verify
	// meanwhile, the newest first.
	at2 := Base.Add(time.Hour)
	k2 := mustRotateAccessKey(t, s, m.ID, at2)
	k1.ExpiresAt = at2.Add(paygate.AccessKeyOverlap)
	checkAccessKeys(t, s, m.ID, at2, k2, k1)

	// A retired key keeps its expiry when the next rotation comes.
	at3 := Base.Add(2 * time.Hour)
	k3 := mustRotateAccessKey(t, s, m.ID, at3)
	k2.ExpiresAt = at3.Add(paygate.AccessKeyOverlap)
	checkAccessKeys(t, s, m.ID, at3, k3, k2, k1)

	// Expired at the instant of its expiry, not a microsecond before.
	checkAccessKeys(t, s, m.ID, k1.ExpiresAt.Add(-time.Microsecond), k3, k2, k1)
	checkAccessKeys(t, s, m.ID, k1.ExpiresAt, k3, k2)
	checkAccessKeys(t, s, m.ID, k2.ExpiresAt, k3)

	dup := NewAccessKey(t, m.ID, at3)
	dup.ID = k3.ID
	if err := s.AccessKeys.RotateAccessKey(t.Context(), dup, at3.Add(time.Hour)); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("RotateAccessKey with a taken id: got %v, want ErrDuplicate", err)
	}
	// ... and retired nothing.
	checkAccessKeys(t, s, m.ID, at3, k3, k2, k1)

	ghost := NewAccessKey(t, paygate.NewID("acct", Base), Base)
	checkCode(t, "RotateAccessKey(unknown merchant)",
		s.AccessKeys.RotateAccessKey(t.Context(), ghost, Base.Add(time.Hour)), paygate.ENOTFOUND)
}

func testAccessKeyMerchants(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	mine := mustRotateAccessKey(t, s, m.ID, Base)
	theirs := mustRotateAccessKey(t, s, other.ID, Base.Add(time.Second))
	// Another merchant's rotation retires none of m's.
	theirs2 := mustRotateAccessKey(t, s, other.ID, Base.Add(2*time.Second))
	theirs.ExpiresAt = Base.Add(2 * time.Second).Add(paygate.AccessKeyOverlap)

	checkAccessKeys(t, s, m.ID, Base.Add(time.Minute), mine)
	checkAccessKeys(t, s, other.ID, Base.Add(time.Minute), theirs2, theirs)
	// Access keys and signing secrets are apart: rotating one leaves the
	// other alone.
	mustRotate(t, s, m.ID, Base.Add(3*time.Second))
	checkAccessKeys(t, s, m.ID, Base.Add(time.Minute), mine)
	checkSecrets(t, s, other.ID, Base.Add(time.Minute))
}

// testAccessKeyRotateTogether has several rotations of one merchant's key
// run at once: every one succeeds, and one key is current after them.
func testAccessKeyRotateTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	mustRotateAccessKey(t, s, m.ID, Base)
	const n = 5
	at := Base.Add(time.Hour)
	for i, err := range race(n, func(int) error {
		return s.AccessKeys.RotateAccessKey(t.Context(), NewAccessKey(t, m.ID, at), at.Add(paygate.AccessKeyOverlap))
	}) {
		if err != nil {
			t.Errorf("RotateAccessKey #%d: %v", i, err)
		}
	}
	list, err := s.AccessKeys.AccessKeys(t.Context(), m.ID, at)
	if err != nil {
		t.Fatalf("AccessKeys: %v", err)
	}
	current := 0
	for _, k := range list {
		if k.ExpiresAt.IsZero() {
			current++
		}
	}
	if len(list) != n+1 || current != 1 {
		t.Errorf("after %d rotations at once: got %d keys, %d current; want %d, 1 current", n, len(list), current, n+1)
	}
}
