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
	requestIDKey ctxKey = iota
	recoveredKey
	idempotencyKey
	apiKeyIDKey
)

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// withRequestID gives every request an id, returned in the Request-Id header.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req_" + paygate.RandomToken(20)
		w.Header().Set("Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
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
// status, duration. Never the body.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Logger.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String(paygate.LogRequestID, requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", sanitizePath(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)))
	})
}
