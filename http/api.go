package http

import (
	"context"
	"fmt"
	"net/http"

	"github.com/paygate/paygate"
)

// apiFunc handles an authenticated API request whose body has been read.
// What its error is of says what the request did (see outcomeOf): a
// *recordedError for a failure that was recorded (a declined payment, a
// failed refund), paygate.ErrInDoubt while an earlier attempt is unresolved.
type apiFunc func(r *http.Request, m *paygate.Merchant, body []byte) (any, error)

// recordedError is a failure that was nonetheless recorded (a declined
// payment, a failed refund): its answer is final, kept under the request's
// Idempotency-Key, and names the payment.
type recordedError struct {
	paymentID string
	err       error
}

func (e *recordedError) Error() string { return e.err.Error() }
func (e *recordedError) Unwrap() error { return e.err }

// api wraps a handler with authentication, body limits, request checks and
// idempotency. query lists the query parameters the route takes; any other
// is refused.
func (s *Server) api(h apiFunc, query ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			// Refused before a byte of the body is read; the connection
			// is closed rather than drained.
			w.Header().Set("Connection", "close")
			s.writeError(w, r, errTooLarge)
			return
		}
		m, keyID, err := s.authenticate(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), apiKeyIDKey, keyID))
		if err := checkRequest(r, query); err != nil {
			s.writeError(w, r, err)
			return
		}
		var body []byte
		if r.Method == http.MethodPost {
			if body, err = readBody(w, r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		s.audited(w, r, m, keyID, func(w http.ResponseWriter) {
			key := r.Header.Get("Idempotency-Key")
			switch {
			case key == "" || r.Method != http.MethodPost:
				writeAnswer(w, s.respond(r, h, m, body))
			case r.Pattern == "POST /v1/payments":
				s.keyedPayment(w, r, m, body, key)
			default:
				s.idempotent(w, r, h, m, body, key)
			}
		})
	}
}

// answer is a handler's rendered response and what the request did.
type answer struct {
	status  int
	body    []byte
	outcome outcome
	retry   bool // the client is asked to retry shortly (Retry-After)
}

// respond runs the handler and renders its result.
func (s *Server) respond(r *http.Request, h apiFunc, m *paygate.Merchant, body []byte) answer {
	v, err := h(r, m, body)
	if err == nil {
		b, merr := encodeAnswer(v)
		if merr == nil {
			return answer{status: http.StatusOK, body: b, outcome: outcomeRecorded}
		}
		err = fmt.Errorf("encode response: %w", merr)
	}
	status, b := s.renderErrorJSON(r, err)
	return answer{status: status, body: b, outcome: outcomeOf(err, status), retry: retryLater(err)}
}
