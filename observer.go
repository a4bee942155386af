package paygate

import (
	"context"
	"time"
)

// Observer is told what a node does, for its metrics (package metrics
// implements it with Prometheus). Every method is called on a hot path:
// it must be cheap, must not block and must be safe for concurrent use.
// Embed NopObserver to implement only some of them.
type Observer interface {
	// Request: an HTTP request was answered. route is the pattern it
	// matched ("POST /v1/payments"; "" when none did), status the code.
	Request(route string, status int, d time.Duration)
	// Payment: a payment request ended with the payment in status; code
	// is the network's response code ("" when it was not sent).
	Payment(kind NetworkKind, status PaymentStatus, code string)
	// Exchange: a request went to the network and its answer came back
	// with code, or not (err: a timeout, a broken or missing link), after d.
	Exchange(kind NetworkKind, code string, err error, d time.Duration)
	// Sweep: a round of background work ended at end after d.
	Sweep(end time.Time, d time.Duration)
	// Idempotency: a request with an Idempotency-Key found the key taken
	// (IdemReplayed, IdemMismatch, IdemBusy) or new (IdemNew).
	Idempotency(result IdempotencyResult)
	// Commit: the stores' writer committed writes writes at once in d (err
	// if the commit failed).
	Commit(writes int, d time.Duration, err error)
}

// IdempotencyResult is what an Idempotency-Key led to.
type IdempotencyResult int

const (
	IdemNew      IdempotencyResult = iota // first use: the request ran
	IdemReplayed                          // the kept answer was replayed
	IdemMismatch                          // used before with other parameters: refused
	IdemBusy                              // still in flight: 409, retry
)

func (r IdempotencyResult) String() string {
	switch r {
	case IdemReplayed:
		return "replayed"
	case IdemMismatch:
		return "mismatch"
	case IdemBusy:
		return "busy"
	}
	return "new"
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) Request(string, int, time.Duration)                 {}
func (NopObserver) Payment(NetworkKind, PaymentStatus, string)         {}
func (NopObserver) Exchange(NetworkKind, string, error, time.Duration) {}
func (NopObserver) Sweep(time.Time, time.Duration)                     {}
func (NopObserver) Idempotency(IdempotencyResult)                      {}
func (NopObserver) Commit(int, time.Duration, error)                   {}

var _ Observer = NopObserver{}

// observer returns g's Observer, or one that observes nothing.
func (g *Gateway) observer() Observer {
	if g.Observer == nil {
		return NopObserver{}
	}
	return g.Observer
}

// RequestInfo is what a node knows of the request a context serves: its id
// (for every log line about it, see LogHandler) and the route it matched,
// which a handler that routes further (the pages, the dashboard) refines.
type RequestInfo struct {
	ID    string
	Route string
}

type requestInfoKey struct{}

// WithRequest returns ctx carrying info.
func WithRequest(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestFrom returns the RequestInfo ctx carries, or nil.
func RequestFrom(ctx context.Context) *RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*RequestInfo)
	return info
}

// RequestID returns the id of the request ctx serves, or "".
func RequestID(ctx context.Context) string {
	if info := RequestFrom(ctx); info != nil {
		return info.ID
	}
	return ""
}
