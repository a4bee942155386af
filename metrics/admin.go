package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/paygate/paygate"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admin is the admin listener: /metrics and /debug/pprof/, for operators
// only. It never shares the public address: Open refuses one that the
// public server's could answer on.
type Admin struct {
	Addr    string // host:port; keep it on loopback or a private network
	Public  string // the public server's listen address, which Addr must not be
	Metrics *Metrics
	Logger  *slog.Logger

	ln  net.Listener
	srv *http.Server
}

// Handler serves /metrics and the profiles of net/http/pprof.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(a.logger().Handler(), slog.LevelWarn)}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "paygate admin: /metrics, /debug/pprof/")
	})
	return mux
}

func (a *Admin) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// Open checks the address, binds it (bound when Open returns) and serves
// in the background.
func (a *Admin) Open() error {
	if err := CheckAddr(a.Addr, a.Public); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil {
		return fmt.Errorf("admin listener on %s: %w", a.Addr, err)
	}
	a.ln = ln
	// The profiles of /debug/pprof/profile and /trace run for up to 30 s
	// (?seconds=): the write timeout leaves them room.
	a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.logger().Handler(), slog.LevelWarn)}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger().Error("admin server stopped", paygate.LogError, err)
		}
	}()
	return nil
}

// URL is the admin server's base URL.
func (a *Admin) URL() string { return "http://" + a.ln.Addr().String() }

// Close stops the admin server.
func (a *Admin) Close() error {
	if a.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.srv.Shutdown(ctx)
}

// CheckAddr refuses an admin address that the public server's address
// covers: the same port on the same host, or on a host either of them
// leaves unspecified (all interfaces).
func CheckAddr(admin, public string) error {
	ah, ap, err := net.SplitHostPort(admin)
	if err != nil {
		return fmt.Errorf("--admin-addr %q: want host:port such as 127.0.0.1:9090", admin)
	}
	ph, pp, err := net.SplitHostPort(public)
	if err != nil || ap != pp || ap == "0" {
		return nil
	}
	if sameHost(ah, ph) {
		return fmt.Errorf("--admin-addr %s is the public address %s: metrics and profiles must never be served on the public port; give the admin listener a port of its own", admin, public)
	}
	return nil
}

func sameHost(a, b string) bool {
	if unspecified(a) || unspecified(b) || a == b {
		return true
	}
	ia, ib := hostIP(a), hostIP(b)
	return ia != nil && ib != nil && ia.Equal(ib)
}

func unspecified(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || ip != nil && ip.IsUnspecified()
}

func hostIP(h string) net.IP {
	if h == "localhost" {
		return net.IPv4(127, 0, 0, 1)
	}
	return net.ParseIP(h)
}
