package paygate_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var (
	idPattern           = regexp.MustCompile(`^pay_[0-9a-hjkmnp-tv-z]{26}$`)
	confirmationPattern = regexp.MustCompile(`^PG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
)

// idMillis decodes the time in an id: its first ten characters are 50 bits,
// two zero bits then the 48-bit Unix milliseconds.
func idMillis(tb testing.TB, id string) int64 {
	tb.Helper()
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	_, body, ok := strings.Cut(id, "_")
	if !ok || len(body) != 26 {
		tb.Fatalf("id %q: want prefix_ and 26 characters", id)
	}
	var v int64
	for _, c := range body[:10] {
		d := strings.IndexRune(alphabet, c)
		if d < 0 {
			tb.Fatalf("id %q: character %q not in the alphabet", id, c)
		}
		v = v<<5 | int64(d)
	}
	return v
}

func TestNewIDFormat(t *testing.T) {
	times := []time.Time{
		time.Unix(0, 0),
		time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 15, 12, 0, 0, 999_999_999, time.FixedZone("CET", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	for _, now := range times {
		id := paygate.NewID("pay", now)
		if !idPattern.MatchString(id) {
			t.Errorf("NewID(pay, %v): got %q, want it to match %s", now, id, idPattern)
		}
		if got, want := idMillis(t, id), now.UnixMilli(); got != want {
			t.Errorf("time in %q: got %d, want %d", id, got, want)
		}
	}
	for _, prefix := range []string{"re", "card", "dk"} {
		if id := paygate.NewID(prefix, times[1]); !strings.HasPrefix(id, prefix+"_") || len(id) != len(prefix)+1+26 {
			t.Errorf("NewID(%q): got %q, want %s_ and 26 characters", prefix, id, prefix)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	start := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	steps := []time.Duration{time.Millisecond, time.Second, time.Hour, 24 * time.Hour, 365 * 24 * time.Hour}
	var ids []string
	now := start
	for i := 0; i < 1000; i++ {
		ids = append(ids, paygate.NewID("pay", now))
		now = now.Add(steps[i%len(steps)])
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("ids out of order: got %q before %q, want increasing", ids[i-1], ids[i])
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC) // all in the same millisecond
	seen := make(map[string]bool, 10_000)
	for i := 0; i < 10_000; i++ {
		id := paygate.NewID("pay", now)
		if seen[id] {
			t.Fatalf("duplicate id %q after %d", id, i)
		}
		seen[id] = true
	}
}

func TestNewConfirmationNumber(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		n := paygate.NewConfirmationNumber()
		if !confirmationPattern.MatchString(n) {
			t.Fatalf("got %q, want it to match %s", n, confirmationPattern)
		}
		if strings.ContainsAny(n[3:], "ILOU") {
			t.Fatalf("got %q, want no I, L, O or U", n)
		}
		if seen[n] {
			t.Fatalf("duplicate confirmation number %q after %d", n, i)
		}
		seen[n] = true
	}
}

func TestRandomToken(t *testing.T) {
	tokenPattern := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]*$`)
	for _, n := range []int{0, 1, 16, 32} {
		tok := paygate.RandomToken(n)
		if len(tok) != n || !tokenPattern.MatchString(tok) {
			t.Errorf("RandomToken(%d): got %q, want %d lowercase base32 characters", n, tok, n)
		}
	}
	a, b := paygate.RandomToken(32), paygate.RandomToken(32)
	if a == b {
		t.Errorf("two RandomToken(32): got %q twice, want different tokens", a)
	}
}

// TestIDFloor: every id made in a millisecond or after it sorts at or after
// that millisecond's floor, and every id made before it sorts before.
func TestIDFloor(t *testing.T) {
	base := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for i := range 2000 {
		at := base.Add(time.Duration(i*7919) * time.Microsecond)
		floor := paygate.IDFloor("pay", at)
		if !idPattern.MatchString(floor) {
			t.Fatalf("IDFloor(%v) = %q: not an id", at, floor)
		}
		for _, d := range []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond, time.Hour} {
			ms := at.Truncate(time.Millisecond)
			if id := paygate.NewID("pay", ms.Add(d)); id < floor {
				t.Fatalf("NewID at %v + %v = %q sorts before IDFloor(%v) = %q", ms, d, id, at, floor)
			}
			if id := paygate.NewID("pay", ms.Add(-time.Microsecond-d)); id >= floor {
				t.Fatalf("NewID at %v - %v = %q sorts at or after IDFloor(%v) = %q", ms, time.Microsecond+d, id, at, floor)
			}
		}
	}
}
