package paygate

import (
	"time"

	"github.com/paygate/paygate/internal/jsonappend"
)

// TraceEntry is one footprint of a payment on the card network: a message
// sent, its answer, or the lack of one. Card data appears only masked (first
// six, last four); the expiry and the CVC never.
type TraceEntry struct {
	At           time.Time `json:"at"`
	Event        string    `json:"event"` // TraceSent, TraceReceived, TraceNoAnswer
	Kind         string    `json:"kind"`  // authorize, sale, capture, reverse, refund, verify
	MTI          string    `json:"mti,omitempty"`
	STAN         string    `json:"stan"`
	RRN          string    `json:"rrn"`
	Card         string    `json:"card,omitempty"` // masked
	Amount       int64     `json:"amount,omitempty"`
	Currency     string    `json:"currency,omitempty"`
	ResponseCode string    `json:"response_code,omitempty"`
	AuthCode     string    `json:"auth_code,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Millis       int64     `json:"ms,omitempty"` // time to the answer
}

// Trace events. Wire names.
const (
	TraceSent     = "sent"
	TraceReceived = "received"
	TraceNoAnswer = "no_answer"
)

// sentBefore reports whether the trace shows a message of this kind already
// sent for the payment: sending it again is a repeat.
func sentBefore(trace []TraceEntry, kind NetworkKind, rrn string) bool {
	for _, e := range trace {
		if e.Event == TraceSent && e.Kind == kind.String() && e.RRN == rrn {
			return true
		}
	}
	return false
}

// MarshalTrace writes t's JSON by hand, byte for byte as json.Marshal
// writes it (event_json_test.go holds it to that): a payment's trace is written
// with it on every change, and encoding/json's reflection showed in the
// profile of a sale. A field added to TraceEntry must be added here too.
func MarshalTrace(t []TraceEntry) ([]byte, error) {
	if t == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 192*len(t)+2)
	b = append(b, '[')
	for i, e := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"at":`...)
		var err error
		if b, err = jsonappend.Time(b, e.At); err != nil {
			return nil, err
		}
		b = append(b, `,"event":`...)
		b = jsonappend.String(b, e.Event)
		b = append(b, `,"kind":`...)
		b = jsonappend.String(b, e.Kind)
		b = jsonappend.OptionalString(b, `,"mti":`, e.MTI)
		b = append(b, `,"stan":`...)
		b = jsonappend.String(b, e.STAN)
		b = append(b, `,"rrn":`...)
		b = jsonappend.String(b, e.RRN)
		b = jsonappend.OptionalString(b, `,"card":`, e.Card)
		b = jsonappend.OptionalInt(b, `,"amount":`, e.Amount)
		b = jsonappend.OptionalString(b, `,"currency":`, e.Currency)
		b = jsonappend.OptionalString(b, `,"response_code":`, e.ResponseCode)
		b = jsonappend.OptionalString(b, `,"auth_code":`, e.AuthCode)
		b = jsonappend.OptionalString(b, `,"detail":`, e.Detail)
		b = jsonappend.OptionalInt(b, `,"ms":`, e.Millis)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
