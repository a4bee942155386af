package http

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/paygate/paygate"
)

// errorStatus maps an error code to its HTTP status and error type.
func errorStatus(code string) (int, string) {
	switch code {
	case paygate.EMALFORMED:
		return http.StatusBadRequest, "invalid_request_error"
	case paygate.EINVALID, paygate.EMISSING, paygate.EAMOUNT, paygate.ECURRENCY, paygate.EAMOUNTTOOLARGE:
		return http.StatusUnprocessableEntity, "invalid_request_error"
	case paygate.ETOOLARGE:
		return http.StatusRequestEntityTooLarge, "invalid_request_error"
	case paygate.EUNAUTHORIZED:
		return http.StatusUnauthorized, "authentication_error"
	case paygate.EFORBIDDEN, paygate.ESECURITY:
		return http.StatusForbidden, "authentication_error"
	case paygate.ENOTFOUND:
		return http.StatusNotFound, "invalid_request_error"
	case paygate.ECONFLICT:
		return http.StatusConflict, "invalid_request_error"
	case paygate.ENUMBER, paygate.EEXPIRED, paygate.ECVC, paygate.EEXPIRY, paygate.EUNSUPPORTEDBRAND, paygate.EDECLINED:
		return http.StatusPaymentRequired, "card_error"
	case paygate.EIDEMPOTENCY:
		return http.StatusUnprocessableEntity, "idempotency_error"
	case paygate.EIDEMPOTENCYBUSY:
		return http.StatusConflict, "idempotency_error"
	case paygate.EBUSY:
		return http.StatusConflict, "api_error"
	case paygate.ERATELIMIT:
		return http.StatusTooManyRequests, "rate_limit_error"
	case paygate.EMETHOD:
		return http.StatusMethodNotAllowed, "invalid_request_error"
	case paygate.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "api_error"
	}
	return http.StatusInternalServerError, "api_error"
}

type errorJSON struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Param        string `json:"param,omitempty"`
	DeclineCode  string `json:"decline_code,omitempty"`
	ResponseCode string `json:"response_code,omitempty"`
	PaymentID    string `json:"payment_id,omitempty"`
	RequestID    string `json:"request_id"`
}

type errorBody struct {
	Error errorJSON `json:"error"`
}

// renderError turns any error into a status and body. This is the one place
// where errors become responses: a *paygate.Error is shown as it is; any
// other error becomes "Internal error." and is logged once, in full, under
// the request id.
func (s *Server) renderError(r *http.Request, err error, paymentID string) (int, errorBody) {
	rid := requestID(r.Context())
	var e *paygate.Error
	if !errors.As(err, &e) {
		s.Logger.Error("internal error", paygate.LogRequestID, rid, paygate.LogError, paygate.RedactPANs(err.Error()))
		return http.StatusInternalServerError, errorBody{errorJSON{Type: "api_error", Code: paygate.EINTERNAL,
			Message: "Internal error. Quote request " + rid + " to support.", RequestID: rid}}
	}
	status, typ := errorStatus(e.Code)
	// Where a message quotes what a user sent, it was masked when quoted
	// (paygate.RedactPANs). The rest is the server's own words and numbers,
	// which must come out as written; the safety net below masks only what
	// is a card number for certain (Luhn-valid, of a known brand and
	// length), in case a quoting site forgot: no number of the server's
	// (limits, amounts, counts) is one.
	return status, errorBody{errorJSON{Type: typ, Code: e.Code, Message: paygate.RedactCardNumbers(e.Message), Param: paygate.RedactCardNumbers(e.Param),
		DeclineCode: e.DeclineCode, ResponseCode: e.ResponseCode, PaymentID: paymentID, RequestID: rid}}
}

// renderErrorJSON renders err as a JSON error body; a recorded failure's
// body names its payment.
func (s *Server) renderErrorJSON(r *http.Request, err error) (int, []byte) {
	paymentID := ""
	var rec *recordedError
	if errors.As(err, &rec) {
		paymentID = rec.paymentID
	}
	status, body := s.renderError(r, err, paymentID)
	b, _ := json.Marshal(body) // strings only: it cannot fail
	return status, append(b, '\n')
}

// retryLater reports whether err asks the client to retry shortly: a
// request still in flight or in doubt under its Idempotency-Key, or a
// conflict with other requests that changed nothing.
func retryLater(err error) bool {
	code := paygate.ErrorCode(err)
	return code == paygate.EIDEMPOTENCYBUSY || code == paygate.EBUSY
}

// writeAnswer writes a handler's answer; one that asks to be retried says
// when.
func writeAnswer(w http.ResponseWriter, a answer) {
	if a.retry {
		w.Header().Set("Retry-After", "1")
	}
	writeRaw(w, a.status, a.body)
}

// writeError writes err as the JSON error response.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.renderError(r, err, "")
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","code":"internal_error","message":"Internal error."}}`)
	}
	writeRaw(w, status, append(b, '\n'))
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
