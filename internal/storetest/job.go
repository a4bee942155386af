package storetest

import (
	"testing"
	"time"
)

var jobTests = []test{
	{"Claim", testJobClaim},
	{"ClaimTogether", testJobClaimTogether},
}

// claim claims a job and checks the outcome.
func claim(tb testing.TB, s Stores, name, holder string, now time.Time, leaseFor time.Duration, want bool) {
	tb.Helper()
	got, err := s.Jobs.Claim(tb.Context(), name, holder, now, leaseFor)
	if err != nil {
		tb.Fatalf("Claim(%s, %s, %s): %v", name, holder, fmtTime(now), err)
	}
	if got != want {
		tb.Errorf("Claim(%s, %s, %s): got %t, want %t", name, holder, fmtTime(now), got, want)
	}
}

func testJobClaim(t *testing.T, s Stores) {
	const job, lease = "prune", time.Minute
	claim(t, s, job, "node-a", Base, lease, true)
	// While a's lease runs, b cannot have it; a extends it.
	claim(t, s, job, "node-b", Base.Add(30*time.Second), lease, false)
	claim(t, s, job, "node-a", Base.Add(30*time.Second), lease, true) // until Base+90s
	claim(t, s, job, "node-b", Base.Add(time.Minute), lease, false)
	claim(t, s, job, "node-b", Base.Add(90*time.Second-time.Microsecond), lease, false)
	// Once it has ended (a died), b takes it over, and a cannot have it back.
	claim(t, s, job, "node-b", Base.Add(90*time.Second), lease, true)
	claim(t, s, job, "node-a", Base.Add(100*time.Second), lease, false)
	// Jobs are leased apart.
	claim(t, s, "settle", "node-a", Base.Add(100*time.Second), lease, true)
	claim(t, s, "settle", "node-b", Base.Add(100*time.Second), lease, false)

	if _, err := s.Jobs.Claim(t.Context(), "other", "node-a", Base, 0); err == nil {
		t.Errorf("Claim with a zero lease: got nil, want an error")
	}
}

// testJobClaimTogether has many nodes claim a free job at once, then again
// once the lease has ended: each time exactly one gets it.
func testJobClaimTogether(t *testing.T, s Stores) {
	const n = 20
	for round, now := range []time.Time{Base, Base.Add(time.Hour)} {
		won := make([]bool, n)
		errs := race(n, func(i int) error {
			var err error
			won[i], err = s.Jobs.Claim(t.Context(), "prune", "node-"+string(rune('a'+i)), now, time.Minute)
			return err
		})
		winners := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: Claim #%d: %v", round, i, err)
			}
			if won[i] {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d nodes claiming a free job at once: %d got it, want 1", round, n, winners)
		}
	}
}
