package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error types, as the server sends them in Error.Type.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeCard           = "card_error"
	TypeAuthentication = "authentication_error"
	TypeIdempotency    = "idempotency_error"
	TypeRateLimit      = "rate_limit_error"
	TypeAPI            = "api_error"
)

// Error codes the client itself acts on. The server sends others; compare
// Error.Code with the string.
const (
	CodeCardDeclined         = "card_declined"
	CodeIdempotencyInFlight  = "idempotency_in_flight"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeResourceBusy         = "resource_busy"       // other requests kept changing the object; nothing was done
	CodeRateLimited          = "rate_limited"        // too many requests with this key (status 429)
	CodeServiceUnavailable   = "service_unavailable" // the server is at its connection limit or not ready (status 503)
)

// Error is an error answer from the server. Use errors.As to get at it:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == client.CodeCardDeclined { ... }
//
// An error that is not an *Error (a refused connection, a cancelled context)
// means the request may or may not have reached the server; sending it again
// with the same IdempotencyKey is safe.
type Error struct {
	Status  int    `json:"-"`       // HTTP status, such as 402
	Type    string `json:"type"`    // one of the Type constants
	Code    string `json:"code"`    // such as "card_declined"; stable
	Message string `json:"message"` // a sentence fit to show a person
	Param   string `json:"param"`   // the request field at fault, if any

	// For a declined payment (Type card_error): why, in the issuer's words
	// (ResponseCode is ISO 8583 field 39, such as "51") and ours
	// (DeclineCode, such as "insufficient_funds"), and the id under which
	// the declined payment was recorded.
	DeclineCode  string `json:"decline_code"`
	ResponseCode string `json:"response_code"`
	PaymentID    string `json:"payment_id"`

	RequestID string `json:"request_id"` // quote it to the gateway's operator
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("paygate: ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(http.StatusText(e.Status))
	}
	fmt.Fprintf(&b, " (status %d", e.Status)
	for _, kv := range [...][2]string{
		{"param", e.Param},
		{"decline_code", e.DeclineCode},
		{"response_code", e.ResponseCode},
		{"payment_id", e.PaymentID},
		{"request_id", e.RequestID},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, ", %s %s", kv[0], kv[1])
		}
	}
	b.WriteString(")")
	return b.String()
}

// retryable reports whether the same request may succeed if sent again.
func (e *Error) retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests,
		http.StatusInternalServerError,
		http.StatusBadGateway,
		http.StatusServiceUnavailable,
		http.StatusGatewayTimeout:
		return true
	case http.StatusConflict:
		return e.Code == CodeIdempotencyInFlight || e.Code == CodeResourceBusy
	}
	return false
}

// IsDeclined reports whether err is a card decline: the payment was sent to
// the card's issuer and refused. The *Error's DeclineCode, ResponseCode and
// PaymentID then say why and where it was recorded.
func IsDeclined(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeCardDeclined
}

// decodeError turns an error response into an *Error. A body that is not the
// server's JSON error (a proxy's HTML page, say) still gives an *Error with
// the status and a generic message.
func decodeError(resp *http.Response, body []byte) *Error {
	var env struct {
		Error *Error `json:"error"`
	}
	e := &Error{}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && (env.Error.Code != "" || env.Error.Message != "") {
		e = env.Error
	} else {
		e.Message = fmt.Sprintf("Unexpected response from the server: %d %s.", resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode >= 500 {
			e.Type = TypeAPI
		}
	}
	e.Status = resp.StatusCode
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("Request-Id")
	}
	return e
}
