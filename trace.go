package paygate

import "time"

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
