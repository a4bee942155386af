// Package http serves paygate over HTTP: the direct JSON API for merchant
// servers (this file and one file per area), and later the payment pages,
// the transparent redirect, the proxy and the terminal as separate handlers.
package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 64 << 10

// Server is the HTTP server. Set the fields, then Open.
type Server struct {
	Addr      string      // host:port; ":0" picks a free port
	TLSConfig *tls.Config // nil: plain HTTP
	// Listener, if set, is used instead of binding Addr: a caller binds
	// first when a failed bind must leave nothing behind.
	Listener net.Listener

	// PublicURL is the base URL customers' browsers reach the gateway on
	// (the payment page's links); "" means URL().
	PublicURL string

	Gateway     *paygate.Gateway
	Merchants   paygate.MerchantStore
	Idempotency paygate.IdempotencyStore
	Logger      *slog.Logger

	// IdempotencySecret keys the hash of requests kept with idempotency
	// records (requests may carry card numbers: PCI DSS 3.5.1.1 wants keyed
	// hashes). IdempotencyLease is how long an in-flight key stays locked
	// before another request may take it over.
	IdempotencySecret []byte
	IdempotencyLease  time.Duration

	// MaxConns caps the connections open at once (default
	// DefaultMaxConns): past it a new connection is answered 503 with
	// Retry-After and closed. ReadHeaderTimeout (default 10 s) and
	// IdleTimeout (default 60 s) bound how long a connection that sends
	// nothing keeps its place.
	MaxConns          int
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration

	// RateLimit is the requests per second each API key may send, in
	// bursts of up to RateBurst (defaults DefaultRateLimit and twice the
	// rate); a negative RateLimit turns limits off. A merchant's own
	// RateLimit overrides them. Clock times the buckets (nil: the system
	// clock).
	RateLimit int
	RateBurst int
	Clock     paygate.Clock

	// Pages, if set, serves what a customer's browser sees (package web):
	// it gets /pay, /pay/... and /assets/... on the same listener as the
	// API, behind the request id, recovery and access log.
	Pages http.Handler
	// Dashboard, if set, serves the merchant dashboard (web.Dashboard) on
	// /dashboard and /dashboard/..., like Pages.
	Dashboard http.Handler
	// Audit, if set, records every mutating request an API key makes
	// (audit.go).
	Audit paygate.AuditStore

	// Observer, if set, is told of every request answered and of what
	// Idempotency-Keys led to (package metrics).
	Observer paygate.Observer

	// Ready lists what GET /readyz checks (the database, the acquirer
	// link); each check gets 2 s.
	Ready []ReadyCheck

	ln     net.Listener
	srv    *http.Server
	auth   authCache
	limits rateLimits

	readyMu      sync.Mutex
	readyFailing []bool // by index in Ready: failing at the last look
}

// Open binds the address and starts serving in the background. The address
// is bound when Open returns, so tests can use ":0" and read URL.
func (s *Server) Open() error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.IdempotencyLease == 0 {
		s.IdempotencyLease = time.Minute
	}
	if s.MaxConns <= 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = 10 * time.Second
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = time.Minute
	}
	var tlsConf *tls.Config
	if s.TLSConfig != nil {
		tlsConf = secureTLS(s.TLSConfig)
	}
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.Addr, err)
		}
	}
	// The cap counts descriptors, so it sits under TLS.
	ln = newLimitListener(ln, s.MaxConns, tlsConf)
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	if tlsConf != nil {
		// Serve is given a TLS listener of our own: say that HTTP/2 is
		// wanted, as ServeTLS would.
		s.srv.Protocols = new(http.Protocols)
		s.srv.Protocols.SetHTTP1(true)
		s.srv.Protocols.SetHTTP2(true)
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", paygate.LogError, err)
		}
	}()
	return nil
}

// URL is the base URL the server answers on.
func (s *Server) URL() string {
	scheme := "http"
	if s.TLSConfig != nil {
		scheme = "https"
	}
	addr := s.ln.Addr().String()
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "::" || host == "0.0.0.0" || host == "") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return scheme + "://" + addr
}

// Close stops accepting requests and waits (up to 15 s) for those in flight.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Abort stops the server at once, dropping the connections in flight, as a
// crash would (tests use it to kill a node).
func (s *Server) Abort() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// sanitizePath makes user-supplied text safe to echo or log: card numbers
// masked, control characters dropped, length bounded.
func sanitizePath(p string) string {
	p = paygate.RedactPANs(p)
	if len(p) > 100 {
		p = p[:100] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, p)
}
