package http

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/paygate/paygate"
)

// Every mutating API request (POST, DELETE) that an API key makes is
// recorded in the merchant's audit log (PCI DSS 10): the key's id, the
// route's pattern, the object id in the path, the status answered, the
// client's address (not its user agent: the row is kept for good). It costs
// one more write per such request (a sale included), which neither the
// answer nor the connection's next request waits for (the store queues
// it); a failure to record is logged and does not change the answer,
// which has been sent already.

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// audited wraps a mutating API request's handling (after the key was
// authenticated) so that it is recorded once answered.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, m *paygate.Merchant, keyID string, serve func(w http.ResponseWriter)) {
	if s.Audit == nil || (r.Method != http.MethodPost && r.Method != http.MethodDelete) {
		serve(w)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	serve(rec)
	ctx := context.WithoutCancel(r.Context())
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := s.Gateway.Clock.Now()
	a := paygate.NewAuditEntry(nil, r.Pattern, r.PathValue("id"), "status "+strconv.Itoa(rec.status), now).From(ip, "")
	a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorAPIKey, keyID
	requestID := w.Header().Get("Request-Id")
	failed := func(err error) {
		if err != nil {
			s.Logger.Error("record API request in the audit log", paygate.LogRequestID, requestID, paygate.LogError, err)
		}
	}
	// The answer goes out after the row is queued (so that the log, read
	// after the answer, lists it) but before it is written: neither this
	// answer nor the next request on the connection waits for the record
	// of this one. The row is written whatever becomes of the connection.
	if q, ok := s.Audit.(paygate.AuditQueuer); ok {
		q.QueueAudit(ctx, a, failed)
		http.NewResponseController(w).Flush()
		return
	}
	http.NewResponseController(w).Flush()
	failed(s.Audit.AppendAudit(ctx, a))
}
