// Package metrics is paygate's Prometheus edge: Metrics implements
// paygate.Observer with the official Go client, every name prefixed
// paygate_, and Admin serves them on /metrics, with net/http/pprof, on a
// listener of its own that is never the public one.
//
// The hot path stays cheap: a request, a payment or a commit finds its
// counter and histogram in a map keyed by its label values (a read lock,
// no allocation) and only the first of each kind builds it. The counts of
// what waits in the database (in doubt, post-backs, mail) are read from
// the database when Prometheus scrapes, with indexed counts.
package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options configure Metrics.
type Options struct {
	// Backlog, if set, is counted at each scrape: payments in doubt
	// (older than InDoubtAfter), post-backs and mail waiting.
	Backlog      paygate.BacklogStore
	InDoubtAfter time.Duration
	// Engine names the database engine ("sqlite", "postgres"): a label of
	// the commit metrics.
	Engine string
}

// Metrics holds a node's metrics in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec   // route, status
	latency  *prometheus.HistogramVec // route
	payments *prometheus.CounterVec   // kind, outcome, code
	network  *prometheus.HistogramVec // kind, result
	idem     [4]prometheus.Counter    // by paygate.IdempotencyResult
	sweeps   prometheus.Histogram
	batch    prometheus.Histogram
	commit   prometheus.Histogram
	failed   prometheus.Counter

	lastSweep atomic.Int64 // Unix nanoseconds of the end of the last sweep round
	started   time.Time

	mu      sync.RWMutex
	routes  map[string]*route
	results map[resultKey]prometheus.Counter
	trips   map[tripKey]prometheus.Observer
}

var _ paygate.Observer = (*Metrics)(nil)

// route holds the metrics of one route, curried.
type route struct {
	latency  prometheus.Observer
	mu       sync.RWMutex
	byStatus map[int]prometheus.Counter
}

type resultKey struct {
	kind   paygate.NetworkKind
	status paygate.PaymentStatus
	code   string
}

type tripKey struct {
	kind   paygate.NetworkKind
	result string
}

// latencyBuckets suit requests and round trips: 0.5 ms to 10 s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the metrics, registered with the Go runtime's and the
// process's own.
func New(o Options) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		started:  time.Now(),
		routes:   map[string]*route{},
		results:  map[resultKey]prometheus.Counter{},
		trips:    map[tripKey]prometheus.Observer{},
	}
	engine := prometheus.Labels{"engine": o.Engine}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_http_requests_total",
		Help: "HTTP requests answered, by route pattern and status code (API, payment pages, dashboard)."}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_http_request_duration_seconds",
		Help: "Time from a request's arrival to its answer, by route pattern.", Buckets: latencyBuckets}, []string{"route"})
	m.payments = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_payments_total",
		Help: "Payment requests (sales and authorizations) by kind, outcome (the payment's status: captured, authorized, declined, failed, pending = in doubt) and network response code (\"\" when not sent or no answer)."},
		[]string{"kind", "outcome", "code"})
	m.network = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_network_roundtrip_seconds",
		Help: "Round trip of a request to the acquirer, by kind and result (the response code, or timeout, not_sent, error).", Buckets: latencyBuckets},
		[]string{"kind", "result"})
	idem := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_idempotency_requests_total",
		Help: "Requests with an Idempotency-Key, by result: new (it ran), replayed (a hit: the kept answer), mismatch (other parameters: refused), busy (in flight: 409)."},
		[]string{"result"})
	for r := range m.idem {
		m.idem[r] = idem.WithLabelValues(paygate.IdempotencyResult(r).String())
	}
	m.sweeps = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_sweep_duration_seconds",
		Help: "Time a round of background work (recovery, expiry, settlement, pruning) took.", Buckets: latencyBuckets})
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "paygate_sweep_lag_seconds",
		Help: "Seconds since this node's sweeper last finished a round (since start, before the first): past a few sweep intervals, the sweeper is stuck or slow."},
		func() float64 {
			last := m.lastSweep.Load()
			if last == 0 {
				return time.Since(m.started).Seconds()
			}
			return time.Since(time.Unix(0, last)).Seconds()
		})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_store_commit_writes",
		Help: "Writes committed together in one transaction of the store's write path (group commit).", ConstLabels: engine,
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_store_commit_seconds",
		Help: "Time a transaction of the store's write path took, from its start to its durable commit.", ConstLabels: engine, Buckets: latencyBuckets})
	m.failed = prometheus.NewCounter(prometheus.CounterOpts{Name: "paygate_store_commit_failures_total",
		Help: "Transactions of the store's write path that failed to commit.", ConstLabels: engine})
	m.Registry.MustRegister(m.requests, m.latency, m.payments, m.network, idem, m.sweeps, lag, m.batch, m.commit, m.failed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Backlog != nil {
		m.Registry.MustRegister(newBacklogCollector(o.Backlog, o.InDoubtAfter))
	}
	return m
}

// Request counts an HTTP request and observes its latency.
func (m *Metrics) Request(pattern string, status int, d time.Duration) {
	m.mu.RLock()
	rt := m.routes[pattern]
	m.mu.RUnlock()
	if rt == nil {
		m.mu.Lock()
		if rt = m.routes[pattern]; rt == nil {
			rt = &route{latency: m.latency.WithLabelValues(pattern), byStatus: map[int]prometheus.Counter{}}
			m.routes[pattern] = rt
		}
		m.mu.Unlock()
	}
	rt.latency.Observe(d.Seconds())
	rt.mu.RLock()
	c := rt.byStatus[status]
	rt.mu.RUnlock()
	if c == nil {
		rt.mu.Lock()
		if c = rt.byStatus[status]; c == nil {
			c = m.requests.WithLabelValues(pattern, strconv.Itoa(status))
			rt.byStatus[status] = c
		}
		rt.mu.Unlock()
	}
	c.Inc()
}

// Payment counts a payment request's outcome.
func (m *Metrics) Payment(kind paygate.NetworkKind, status paygate.PaymentStatus, code string) {
	k := resultKey{kind, status, code}
	m.mu.RLock()
	c := m.results[k]
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if c = m.results[k]; c == nil {
			c = m.payments.WithLabelValues(kind.String(), string(status), code)
			m.results[k] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// Exchange observes a network round trip.
func (m *Metrics) Exchange(kind paygate.NetworkKind, code string, err error, d time.Duration) {
	k := tripKey{kind, code}
	if err != nil {
		k.result = "error"
		switch {
		case isErr(err, paygate.ErrNetworkTimeout):
			k.result = "timeout"
		case isErr(err, paygate.ErrNotSent):
			k.result = "not_sent"
		}
	}
	m.mu.RLock()
	h := m.trips[k]
	m.mu.RUnlock()
	if h == nil {
		m.mu.Lock()
		if h = m.trips[k]; h == nil {
			h = m.network.WithLabelValues(kind.String(), k.result)
			m.trips[k] = h
		}
		m.mu.Unlock()
	}
	h.Observe(d.Seconds())
}

// Sweep notes the end of a sweep round.
func (m *Metrics) Sweep(end time.Time, d time.Duration) {
	m.lastSweep.Store(end.UnixNano())
	m.sweeps.Observe(d.Seconds())
}

// Idempotency counts what an Idempotency-Key led to.
func (m *Metrics) Idempotency(r paygate.IdempotencyResult) {
	if int(r) >= 0 && int(r) < len(m.idem) {
		m.idem[r].Inc()
	}
}

// Commit observes a transaction of the write path.
func (m *Metrics) Commit(writes int, d time.Duration, err error) {
	if err != nil {
		m.failed.Inc()
		return
	}
	m.batch.Observe(float64(writes))
	m.commit.Observe(d.Seconds())
}
