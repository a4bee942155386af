package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.016 {
			t.Errorf("quantile(%v) = %v, want %v (within 1.6%% above)", c.q, got, c.want)
		}
	}
	// Every latency lands in a bucket whose bounds hold it.
	for _, us := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 1<<maxExp - 1} {
		i := bucket(us)
		if us > upper(i) || (i > 0 && us <= upper(i-1)) {
			t.Errorf("%d µs in bucket %d (%d..%d]", us, i, upper(i-1), upper(i))
		}
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestRunClosedLoop(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")] = true
		mu.Unlock()
		if string(b) != `{"a":1}` || r.Header.Get("Authorization") != "Bearer x" {
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	var ticks int
	r, err := Run(context.Background(), Config{URL: srv.URL, Body: []byte(`{"a":1}`), Header: http.Header{"Authorization": {"Bearer x"}},
		Concurrency: 4, Duration: 1100 * time.Millisecond, KeyPrefix: "k-", Progress: func(time.Duration, int64) { ticks++ }})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK == 0 || r.OK != r.Requests || r.Errors != 0 || len(r.Statuses) != 0 {
		t.Fatalf("result %+v: want every request answered 200", r)
	}
	if int64(len(keys)) != r.Requests {
		t.Errorf("%d distinct keys for %d requests", len(keys), r.Requests)
	}
	// A tick at about 1 s (unless the machine is too busy to keep time)
	// and the last one when the run stops.
	if ticks < 1 || ticks > 2 {
		t.Errorf("progress called %d times in 1.1 s, want 1 or 2", ticks)
	}
	if r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
		t.Errorf("percentiles out of order: %v %v %v", r.P50, r.P99, r.Max)
	}
	if !strings.Contains(r.String(), "req/s") {
		t.Errorf("String() = %q", r)
	}
}

func TestRunOpenLoop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Idempotency-Key") != "" {
			t.Error("key sent without KeyPrefix")
		}
		w.WriteHeader(402)
	}))
	defer srv.Close()
	r, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 8, Duration: 500 * time.Millisecond, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.5 s: 100 requests, the first at once.
	if r.Requests < 95 || r.Requests > 101 {
		t.Errorf("%d requests at 200/s for 0.5 s, want about 100", r.Requests)
	}
	if r.OK != 0 || r.Statuses[402] != r.Requests || r.FirstError != "HTTP 402" {
		t.Errorf("result %+v: want every answer counted as 402", r)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, c := range []Config{{URL: "http://x", Concurrency: 1}, {URL: "http://x", Duration: time.Second}, {URL: "http://x", Duration: time.Second, Rate: -1}} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) did not fail", c)
		}
	}
}

// TestMerge: runs merged, through JSON as bench reads them from its load
// process, give the counts, rate and percentiles of one run of all their
// answers; a result without its latencies is refused.
func TestMerge(t *testing.T) {
	w1, w2, all := &worker{ok: 1000}, &worker{ok: 90, errs: 3, statuses: map[int]int64{502: 10}, firstErr: "HTTP 502"}, &worker{}
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Millisecond
		w1.h.record(d)
		all.h.record(d)
	}
	for i := 1; i <= 100; i++ {
		d := time.Duration(5000+i) * time.Millisecond
		w2.h.record(d)
		all.h.record(d)
	}
	r1, r2 := tally([]*worker{w1}, 2*time.Second), tally([]*worker{w2}, 3*time.Second)
	var fromJSON []*Result
	for _, r := range []*Result{r1, r2} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		fromJSON = append(fromJSON, &back)
	}
	m, err := Merge(fromJSON...)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 1103 || m.OK != 1090 || m.Errors != 3 || m.Statuses[502] != 10 || m.FirstError != "HTTP 502" {
		t.Errorf("merged counts: %d requests, %d ok, %d errors, statuses %v, first error %q", m.Requests, m.OK, m.Errors, m.Statuses, m.FirstError)
	}
	if m.ElapsedS != 5 || m.PerSec != 1100.0/5 {
		t.Errorf("merged: %v s, %v/s; want 5 s, 220/s", m.ElapsedS, m.PerSec)
	}
	// The merged percentiles are those of one histogram of every answer:
	// the p99 falls among the second run's slow answers, which neither
	// run's own p99 nor their average would give.
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if got, want := time.Duration(float64(time.Millisecond)*map[float64]float64{0.5: m.P50ms, 0.9: m.P90ms, 0.99: m.P99ms}[q]), all.h.quantile(q).Truncate(time.Microsecond); got != want {
			t.Errorf("merged quantile %v = %v, want %v", q, got, want)
		}
	}
	if m.P99ms < 5000 || m.MaxMs != 5100 {
		t.Errorf("merged p99 %v ms, max %v ms: want the slow run's", m.P99ms, m.MaxMs)
	}
	// Merging one result gives it back.
	if one, err := Merge(r1); err != nil || one.P99 != r1.P99 || one.PerSec != r1.PerSec || one.Requests != r1.Requests {
		t.Errorf("Merge of one: %+v, %v; want %+v", one, err, r1)
	}
	// A result without its latencies (an older load process) is refused,
	// not merged into wrong percentiles.
	bare := *r1
	bare.Latency = nil
	if _, err := Merge(r2, &bare); err == nil || !strings.Contains(err.Error(), "without its latencies") {
		t.Errorf("Merge without latencies: %v", err)
	}
}

// TestMergeKeepsMaxFromJSON: a largest latency read back from JSON (whole
// microseconds, in milliseconds) merges to itself, not 1 µs less.
func TestMergeKeepsMaxFromJSON(t *testing.T) {
	for us := 1; us <= 5000; us++ {
		w := &worker{ok: 1}
		w.h.record(time.Duration(us) * time.Microsecond)
		r := tally([]*worker{w}, time.Second)
		back := Result{Requests: r.Requests, OK: r.OK, ElapsedS: r.ElapsedS, MaxMs: r.MaxMs, Latency: r.Latency}
		m, err := Merge(&back)
		if err != nil || m.MaxMs != r.MaxMs || m.P99ms != r.P99ms {
			t.Fatalf("%d µs: merged max %v p99 %v (%v), want %v and %v", us, m.MaxMs, m.P99ms, err, r.MaxMs, r.P99ms)
		}
	}
}
