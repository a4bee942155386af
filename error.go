package paygate

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. They go over the wire: add new ones at the end, never rename.
const (
	EINVALID          = "parameter_invalid"      // a parameter has a bad value
	EMISSING          = "parameter_missing"      // a required parameter is absent
	EMALFORMED        = "malformed_request"      // the body is not the JSON we expect
	ETOOLARGE         = "request_too_large"      // the body is over the limit
	EUNAUTHORIZED     = "unauthorized"           // missing, unknown or revoked key
	ENOTFOUND         = "not_found"              // no such object for this merchant
	ECONFLICT         = "state_conflict"         // the object is not in a state that allows this
	EAMOUNT           = "amount_invalid"         // zero, negative or too large amount
	ECURRENCY         = "currency_unknown"       // not an ISO 4217 code we know
	ENUMBER           = "incorrect_number"       // card number fails Luhn or has a bad length
	EEXPIRED          = "expired_card"           // the card's expiry date has passed
	ECVC              = "invalid_cvc"            // CVC of the wrong length for the brand
	EEXPIRY           = "invalid_expiry"         // month or year out of range
	EDECLINED         = "card_declined"          // the issuer (or network) declined
	EIDEMPOTENCY      = "idempotency_key_reused" // same key, different request
	EIDEMPOTENCYBUSY  = "idempotency_in_flight"  // same key, first request still running
	EINTERNAL         = "internal_error"         // anything we did not expect
	EAMOUNTTOOLARGE   = "amount_too_large"       // capture or refund above what the payment allows
	EUNSUPPORTEDBRAND = "card_brand_unsupported" // a number we cannot route
	ERATELIMIT        = "rate_limited"           // too many requests
	EFORBIDDEN        = "forbidden"              // the key may not do this (publishable key on a secret route)
	EMETHOD           = "method_not_allowed"     // the path exists, the method does not
	EBUSY             = "resource_busy"          // other requests kept changing the object; retry (409, not stored under an Idempotency-Key)
	EUNAVAILABLE      = "service_unavailable"    // the server is at its connection limit or not ready; retry
	ESECURITY         = "security_violation"     // a request broke a security rule (a transparent redirect sent its access key)
)

// Error is an error that a merchant or a cardholder may read. Message is a
// capitalised sentence; Param names the offending field; DeclineCode and
// ResponseCode are set for declines.
type Error struct {
	Code         string
	Message      string
	Param        string
	DeclineCode  string
	ResponseCode string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("paygate error: code=%s param=%s message=%s", e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("paygate error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParamErrorf returns an *Error that names the offending parameter.
func ParamErrorf(code, param string, format string, args ...any) *Error {
	return &Error{Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the readable message of err if it is an *Error, else a
// generic one that leaks nothing.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// sanitize makes a value a user sent fit to quote in a message: card
// numbers masked, short and printable.
func sanitize(s string, max int) string {
	s = RedactPANs(s)
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
