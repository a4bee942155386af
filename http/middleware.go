package http

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/paygate/paygate"
)

type ctxKey int

const (
	recoveredKey ctxKey = iota
	idempotencyKey
	apiKeyIDKey
)

func requestID(ctx context.Context) string { return paygate.RequestID(ctx) }

// withRequestID gives every request an id, returned in the Request-Id
// header and carried by its context (paygate.RequestInfo), where every
// log line about the request finds it.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &paygate.RequestInfo{ID: "req_" + paygate.RandomToken(20)}
		w.Header().Set("Request-Id", info.ID)
		next.ServeHTTP(w, r.WithContext(paygate.WithRequest(r.Context(), info)))
	})
}

// withRecover turns a panic into a logged internal error.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic", paygate.LogRequestID, requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, &paygate.Error{Code: paygate.EINTERNAL, Message: "Internal error."})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// withAccessLog logs each request: method, path (card numbers masked),
// status, duration. Never the body. It tells the Observer too, with the
// route the request matched: the pattern of next (a mux, which sets
// r.Pattern), or the finer one a handler under it noted in the
// request's RequestInfo (the pages' and the dashboard's own routes).
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logging := s.Logger.Enabled(r.Context(), slog.LevelInfo)
		if !logging && s.Observer == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		if s.Observer != nil {
			route := r.Pattern
			if info := paygate.RequestFrom(r.Context()); info != nil && info.Route != "" {
				route = info.Route
			}
			s.Observer.Request(route, sw.status, d)
		}
		if !logging {
			return
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String(paygate.LogRequestID, requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", sanitizePath(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Duration("duration", d))
	})
}
