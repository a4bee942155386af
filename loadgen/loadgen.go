// Package loadgen drives an HTTP endpoint with POST requests and measures
// what it answers: requests per second and latency percentiles. It runs in
// one of two ways:
//
//   - closed loop (Rate 0): Concurrency workers each send a request, wait
//     for its answer and send the next, over keep-alive connections, for
//     Duration; the throughput is the endpoint's peak at that concurrency.
//   - open loop (Rate > 0): requests are started at a fixed rate whatever
//     the answers do, and each latency is counted from the moment its
//     request was due (not from when a free worker sent it), so a server
//     that falls behind shows it in its percentiles rather than hiding it
//     (coordinated omission).
//
// Latencies go into fixed-size log-linear histograms (under 1.6% error), one
// per worker, merged at the end: nothing is allocated per sample.
//
// It is paygate bench's load generator and imports only the standard
// library.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run.
type Config struct {
	URL         string
	Body        []byte
	Header      http.Header // sent with every request
	Concurrency int         // workers in closed loop; in open loop the most requests in flight (default 1024)
	Duration    time.Duration
	Rate        float64 // requests per second; 0 for closed loop
	// KeyPrefix, if set, sends each request with an Idempotency-Key of
	// KeyPrefix and a sequence number (unique within the run).
	KeyPrefix string
	// Progress, if set, is called about once a second with the requests
	// answered so far.
	Progress func(elapsed time.Duration, requests int64)
	// Client is the HTTP client; nil makes one with keep-alive connections
	// for the concurrency.
	Client *http.Client
}

// Result is what a run measured. OK counts 2xx answers; the latencies are
// those of every answer, whatever its status.
type Result struct {
	Requests int64         `json:"requests"`
	OK       int64         `json:"ok"`
	Errors   int64         `json:"errors"` // transport errors (no answer)
	Statuses map[int]int64 `json:"statuses,omitempty"`
	Elapsed  time.Duration `json:"-"`
	PerSec   float64       `json:"requests_per_second"`
	P50      time.Duration `json:"-"`
	P90      time.Duration `json:"-"`
	P99      time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
	// The same in milliseconds, for JSON.
	ElapsedS float64 `json:"elapsed_s"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// FirstError is the first transport error or non-2xx status seen.
	FirstError string `json:"first_error,omitempty"`
	// Latency holds the answers' latencies: the histogram's buckets that
	// are not empty, each as [bucket, count], so that results of several
	// runs (or of another process, through JSON) can be merged exactly
	// (Merge).
	Latency [][2]uint64 `json:"latency_buckets,omitempty"`
}

// worker is one sender's tally.
type worker struct {
	h        histogram
	ok, errs int64
	statuses map[int]int64
	firstErr string
}

// Run drives c.URL as c says until c.Duration has passed or ctx ends.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Duration <= 0 {
		return nil, errors.New("duration must be positive")
	}
	if c.Rate < 0 {
		return nil, errors.New("rate must not be negative")
	}
	if c.Concurrency <= 0 {
		if c.Rate == 0 {
			return nil, errors.New("concurrency must be positive")
		}
		c.Concurrency = 1024
	}
	hc := c.Client
	if hc == nil {
		tr := &http.Transport{MaxIdleConnsPerHost: c.Concurrency, DisableCompression: true, ForceAttemptHTTP2: false}
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()

	var seq, done atomic.Int64
	send := func(w *worker, due time.Time) {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", c.URL, bytes.NewReader(c.Body))
		if err != nil {
			w.fail(err.Error())
			return
		}
		for k, v := range c.Header {
			req.Header[k] = v
		}
		if c.KeyPrefix != "" {
			req.Header.Set("Idempotency-Key", c.KeyPrefix+strconv.FormatInt(seq.Add(1), 10))
		}
		resp, err := hc.Do(req)
		if err != nil {
			w.fail(err.Error())
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.h.record(time.Since(due))
		done.Add(1)
		if resp.StatusCode/100 == 2 {
			w.ok++
			return
		}
		if w.statuses == nil {
			w.statuses = map[int]int64{}
		}
		w.statuses[resp.StatusCode]++
		if w.firstErr == "" {
			w.firstErr = "HTTP " + strconv.Itoa(resp.StatusCode)
		}
	}

	start := time.Now()
	stopProgress := progress(c.Progress, start, &done)
	var workers []*worker
	if c.Rate == 0 {
		workers = closedLoop(ctx, c.Concurrency, send)
	} else {
		workers = openLoop(ctx, c.Rate, c.Concurrency, start, start.Add(c.Duration), send)
	}
	elapsed := time.Since(start)
	stopProgress()
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return tally(workers, elapsed), nil
}

func (w *worker) fail(msg string) {
	w.errs++
	if w.firstErr == "" {
		w.firstErr = msg
	}
}

// closedLoop runs n workers, each sending one request after another.
func closedLoop(ctx context.Context, n int, send func(*worker, time.Time)) []*worker {
	workers := make([]*worker, n)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{}
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil {
				send(w, time.Now())
			}
		})
	}
	wg.Wait()
	return workers
}

// openLoop starts a request every 1/rate seconds from start until end, at
// most inFlight at once; a request waiting for a slot is late, and its
// latency counts from when it was due.
func openLoop(ctx context.Context, rate float64, inFlight int, start, end time.Time, send func(*worker, time.Time)) []*worker {
	interval := time.Duration(float64(time.Second) / rate)
	free := make(chan *worker, inFlight)
	workers := make([]*worker, inFlight)
	for i := range workers {
		workers[i] = &worker{}
		free <- workers[i]
	}
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) || ctx.Err() != nil {
			wg.Wait()
			return workers
		}
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				wg.Wait()
				return workers
			case <-timer.C:
			}
		}
		var w *worker
		select {
		case <-ctx.Done():
			wg.Wait()
			return workers
		case w = <-free:
		}
		wg.Go(func() {
			send(w, due)
			free <- w
		})
	}
}

// progress calls fn about every second until the returned stop is called,
// and once more when it is: a run shorter than a tick still reports.
func progress(fn func(time.Duration, int64), start time.Time, done *atomic.Int64) (stop func()) {
	if fn == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fn(time.Since(start), done.Load())
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
		fn(time.Since(start), done.Load())
	}
}

// tally merges the workers' counts.
func tally(workers []*worker, elapsed time.Duration) *Result {
	var h histogram
	r := &Result{Elapsed: elapsed}
	for _, w := range workers {
		h.merge(&w.h)
		r.add(w.ok, w.errs, w.statuses, w.firstErr)
	}
	r.Requests = int64(h.n) + r.Errors
	r.summarize(&h)
	return r
}

// add counts in r answers that were 2xx (ok), failures (errs), the
// statuses of the others and the first error.
func (r *Result) add(ok, errs int64, statuses map[int]int64, firstErr string) {
	r.OK += ok
	r.Errors += errs
	for s, k := range statuses {
		if r.Statuses == nil {
			r.Statuses = map[int]int64{}
		}
		r.Statuses[s] += k
	}
	if r.FirstError == "" {
		r.FirstError = firstErr
	}
}

// summarize sets r's rate, percentiles and Latency from h, the latencies
// of its answers, and r.Elapsed.
func (r *Result) summarize(h *histogram) {
	for i, c := range h.counts {
		if c > 0 {
			r.Latency = append(r.Latency, [2]uint64{uint64(i), c})
		}
	}
	r.ElapsedS = r.Elapsed.Seconds()
	if r.Elapsed > 0 {
		r.PerSec = float64(h.n) / r.Elapsed.Seconds()
	}
	r.P50, r.P90, r.P99, r.Max = h.quantile(0.50), h.quantile(0.90), h.quantile(0.99), h.max
	r.P50ms, r.P90ms, r.P99ms, r.MaxMs = ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max)
}

// Merge returns the result of runs taken one after another as one run:
// their counts and times added, the rate over their time together, and
// the percentiles of all their answers' latencies (from Latency, to the
// histogram's precision). A result read from JSON has lost its exact
// times: its elapsed_s and max_ms (to the microsecond) stand in.
func Merge(rs ...*Result) (*Result, error) {
	var h histogram
	m := &Result{}
	for _, r := range rs {
		var n uint64
		for _, b := range r.Latency {
			if b[0] >= uint64(len(h.counts)) {
				return nil, fmt.Errorf("loadgen: latency bucket %d out of range", b[0])
			}
			h.counts[b[0]] += b[1]
			n += b[1]
		}
		if int64(n) != r.Requests-r.Errors {
			return nil, fmt.Errorf("loadgen: %d latencies for %d answers: a result without its latencies cannot be merged", n, r.Requests-r.Errors)
		}
		h.n += n
		elapsed, maxLat := r.Elapsed, r.Max
		if elapsed == 0 {
			elapsed = time.Duration(math.Round(r.ElapsedS * float64(time.Second)))
		}
		if maxLat == 0 { // max_ms is whole microseconds
			maxLat = time.Duration(math.Round(r.MaxMs*1000)) * time.Microsecond
		}
		h.max = max(h.max, maxLat)
		m.Elapsed += elapsed
		m.Requests += r.Requests
		m.add(r.OK, r.Errors, r.Statuses, r.FirstError)
	}
	m.summarize(&h)
	return m, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// String is one line: rate and percentiles.
func (r *Result) String() string {
	s := fmt.Sprintf("%8.0f req/s  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  (%d answered, %d ok",
		r.PerSec, r.P50ms, r.P90ms, r.P99ms, r.Requests-r.Errors, r.OK)
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d failed", r.Errors)
	}
	return s + ")"
}
