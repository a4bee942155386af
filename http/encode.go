package http

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/paygate/paygate/internal/jsonappend"
)

// The answers a sale and its kin send (a payment, a list of payments, a
// refund) are written by hand rather than by encoding/json, whose
// reflection showed in the profile of a sale. What they write is, byte for
// byte, what json.Marshal writes for the same value (encode_test.go holds
// them to it): the same field order, omitempty rules, null for a nil slice,
// map keys sorted, times as time.Time.MarshalJSON writes them, strings
// escaped as encoding/json escapes them by default. A field added to one
// of these types must be added here too; TestAppendJSONFields fails until
// it is.

// jsonAppender is an answer that writes its own JSON.
type jsonAppender interface {
	// appendJSON appends the value's JSON to dst. It fails where
	// json.Marshal would (a time it cannot write), and then what it
	// returns is not to be used.
	appendJSON(dst []byte) ([]byte, error)
}

var (
	_ jsonAppender = paymentJSON{}
	_ jsonAppender = paymentListJSON{}
	_ jsonAppender = refundJSON{}
)

// encodeAnswer renders a handler's answer, a newline after it.
func encodeAnswer(v any) ([]byte, error) {
	switch v.(type) {
	case paymentJSON, paymentListJSON, refundJSON:
		// Values only: a pointer to one has the method too, and a nil
		// one would panic where json.Marshal writes null.
		if b, err := v.(jsonAppender).appendJSON(make([]byte, 0, 1024)); err == nil {
			return append(b, '\n'), nil
		}
		// What cannot be written (a time past year 9999) is left to
		// encoding/json, which fails in its own words.
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (p paymentJSON) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = jsonappend.String(b, p.ID)
	b = append(b, `,"object":`...)
	b = jsonappend.String(b, p.Object)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, p.Status)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, p.Amount, 10)
	b = append(b, `,"currency":`...)
	b = jsonappend.String(b, p.Currency)
	b = append(b, `,"amount_captured":`...)
	b = strconv.AppendInt(b, p.AmountCaptured, 10)
	b = append(b, `,"amount_refunded":`...)
	b = strconv.AppendInt(b, p.AmountRefunded, 10)
	b = append(b, `,"amount_refundable":`...)
	b = strconv.AppendInt(b, p.AmountRefundable, 10)
	b = append(b, `,"capture":`...)
	b = strconv.AppendBool(b, p.Capture)
	b = append(b, `,"card":`...)
	b = p.Card.appendJSON(b)
	b = jsonappend.OptionalString(b, `,"card_id":`, p.CardID)
	b = jsonappend.OptionalString(b, `,"confirmation_number":`, p.ConfirmationNumber)
	b = jsonappend.OptionalString(b, `,"auth_code":`, p.AuthCode)
	b = jsonappend.OptionalString(b, `,"rrn":`, p.RRN)
	b = jsonappend.OptionalString(b, `,"response_code":`, p.ResponseCode)
	b = jsonappend.OptionalString(b, `,"decline_code":`, p.DeclineCode)
	b = jsonappend.OptionalString(b, `,"decline_reason":`, p.DeclineReason)
	b = jsonappend.OptionalString(b, `,"description":`, p.Description)
	b = jsonappend.OptionalString(b, `,"order_id":`, p.OrderID)
	if len(p.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = appendJSONStringMap(b, p.Metadata)
	}
	b = jsonappend.OptionalString(b, `,"receipt_email":`, p.ReceiptEmail)
	b = append(b, `,"require_ack":`...)
	b = strconv.AppendBool(b, p.RequireAck)
	b = appendOptionalTime(b, `,"ack_deadline":`, p.AckDeadline, &err)
	b = appendOptionalTime(b, `,"acked_at":`, p.AckedAt, &err)
	b = jsonappend.OptionalString(b, `,"void_reason":`, p.VoidReason)
	b = appendOptionalTime(b, `,"created_at":`, p.CreatedAt, &err)
	b = appendOptionalTime(b, `,"captured_at":`, p.CapturedAt, &err)
	b = appendOptionalTime(b, `,"voided_at":`, p.VoidedAt, &err)
	b = appendOptionalTime(b, `,"settled_at":`, p.SettledAt, &err)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"refunds":`...)
	if p.Refunds == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Refunds {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = p.Refunds[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (c cardJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"brand":`...)
	b = jsonappend.String(b, c.Brand)
	b = append(b, `,"first6":`...)
	b = jsonappend.String(b, c.First6)
	b = append(b, `,"last4":`...)
	b = jsonappend.String(b, c.Last4)
	b = append(b, `,"exp_month":`...)
	b = strconv.AppendInt(b, int64(c.ExpMonth), 10)
	b = append(b, `,"exp_year":`...)
	b = strconv.AppendInt(b, int64(c.ExpYear), 10)
	b = jsonappend.OptionalString(b, `,"fingerprint":`, c.Fingerprint)
	return append(b, '}')
}

func (r refundJSON) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonappend.String(b, r.ID)
	b = append(b, `,"object":`...)
	b = jsonappend.String(b, r.Object)
	b = append(b, `,"payment_id":`...)
	b = jsonappend.String(b, r.PaymentID)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, r.Amount, 10)
	b = append(b, `,"currency":`...)
	b = jsonappend.String(b, r.Currency)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, r.Status)
	b = jsonappend.OptionalString(b, `,"reason":`, r.Reason)
	b = jsonappend.OptionalString(b, `,"response_code":`, r.ResponseCode)
	var err error
	b = appendOptionalTime(b, `,"created_at":`, r.CreatedAt, &err)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// paymentListJSON is a page of payments: a listJSON whose data are
// payments, which writes its own JSON.
type paymentListJSON struct {
	Object  string        `json:"object"`
	Data    []paymentJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

func (l paymentListJSON) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"object":`...)
	b = jsonappend.String(b, l.Object)
	b = append(b, `,"data":`...)
	if l.Data == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range l.Data {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = l.Data[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, l.HasMore)
	return append(b, '}'), nil
}

// appendOptionalTime appends key (`,"name":`) and *t unless t is nil
// (omitempty), as time.Time.MarshalJSON writes it: RFC 3339 with as many
// digits of the nanoseconds as are not zero, quoted (nothing in it needs
// escaping). A time RFC 3339 cannot write (a year past 9999) sets *err,
// unless it holds an error already; b is then still returned, for the
// caller to check *err once after a run of fields.
func appendOptionalTime(b []byte, key string, t *time.Time, err *error) []byte {
	if t == nil {
		return b
	}
	nb, terr := jsonappend.Time(append(b, key...), *t)
	if terr != nil {
		if *err == nil {
			*err = terr
		}
		return b
	}
	return nb
}

// appendJSONStringMap appends m as a JSON object, its keys sorted (as
// encoding/json sorts them: by their bytes, before escaping).
func appendJSONStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonappend.String(b, k)
		b = append(b, ':')
		b = jsonappend.String(b, m[k])
	}
	return append(b, '}')
}
