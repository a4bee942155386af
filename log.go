package paygate

import (
	"context"
	"log/slog"
)

// Log attribute keys, shared by every package so that one payment can be
// followed through the logs.
const (
	LogPaymentID  = "payment_id"
	LogMerchantID = "merchant_id"
	LogRequestID  = "request_id"
	LogSTAN       = "stan"
	LogRRN        = "rrn"
	LogRefundID   = "refund_id"
	LogError      = "error"
	LogCard       = "card" // always masked
	LogCode       = "response_code"
	LogKind       = "kind"
)

// LogHandler adds the request id of the context a line is logged with
// (RequestFrom) to every line that does not carry one yet, so that every
// log line about a request names it, however deep it was logged: log with
// the Context methods (InfoContext, LogAttrs) and the request's context.
type LogHandler struct {
	slog.Handler
	has bool // a request id is among the handler's own attributes
}

// NewLogHandler wraps h; a handler that is already a LogHandler is kept.
func NewLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*LogHandler); ok {
		return h
	}
	return &LogHandler{Handler: h}
}

// Handle adds the request id, if any and not already there, and logs r.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.has {
		if id := RequestID(ctx); id != "" {
			found := false
			r.Attrs(func(a slog.Attr) bool {
				found = a.Key == LogRequestID
				return !found
			})
			if !found {
				r = r.Clone()
				r.AddAttrs(slog.String(LogRequestID, id))
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs returns a LogHandler with attrs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.has
	for _, a := range attrs {
		has = has || a.Key == LogRequestID
	}
	return &LogHandler{Handler: h.Handler.WithAttrs(attrs), has: has}
}

// WithGroup returns a LogHandler with a group.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithGroup(name), has: h.has}
}
