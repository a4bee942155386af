package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var eventTests = []test{
	{"CreateGet", testEventCreateGet},
	{"List", testEventList},
}

// NewEvent returns an event of the merchant, of the given type, about a
// new payment, at the given time, with its body.
func NewEvent(tb testing.TB, merchantID, typ string, created time.Time) *paygate.Event {
	tb.Helper()
	created = created.Truncate(paygate.TimePrecision)
	e := &paygate.Event{ID: paygate.NewID("evt", created), MerchantID: merchantID, Type: typ, PaymentID: paygate.NewID("pay", created),
		CreatedAt: created}
	var err error
	e.Data, err = json.Marshal(paygate.EventBody{ID: e.ID, Type: typ, Timestamp: created, Data: paygate.EventData{PaymentID: e.PaymentID}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// MustCreateEvent stores e and returns it.
func MustCreateEvent(tb testing.TB, s paygate.EventStore, e *paygate.Event) *paygate.Event {
	tb.Helper()
	if err := s.CreateEvent(tb.Context(), e); err != nil {
		tb.Fatalf("CreateEvent(%s): %v", e.ID, err)
	}
	return e
}

// MustEvent loads an event.
func MustEvent(tb testing.TB, s paygate.EventStore, merchantID, id string) *paygate.Event {
	tb.Helper()
	e, err := s.Event(tb.Context(), merchantID, id)
	if err != nil {
		tb.Fatalf("Event(%s): %v", id, err)
	}
	return e
}

// mustEvents lists events.
func mustEvents(tb testing.TB, s paygate.EventStore, f paygate.EventFilter) ([]*paygate.Event, bool) {
	tb.Helper()
	list, more, err := s.Events(tb.Context(), f)
	if err != nil {
		tb.Fatalf("Events(%+v): %v", f, err)
	}
	return list, more
}

func eventIDs(list []*paygate.Event) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}

func testEventCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	all := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	violations := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, paygate.EventSecurityViolation))
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, paygate.EventPaymentCaptured))
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, other.ID, Base, "*"))

	// Every field set; a body spelled as no JSON encoder would respell it.
	e := NewEvent(t, m.ID, paygate.EventSecurityViolation, Base)
	e.SessionID, e.Sequence = "cs_"+paygate.RandomToken(32), 3
	e.Data = []byte("{ \"id\":\"" + e.ID + "\",  \"type\":\"security.violation\",\"data\":{\"violation\":\"h\u00e9llo \\u003c\"}}\n")
	MustCreateEvent(t, s.Events, e)
	CheckEqual(t, "Event", MustEvent(t, s.Events, m.ID, e.ID), e)
	if got := MustEvent(t, s.Events, m.ID, e.ID).Data; string(got) != string(e.Data) {
		t.Errorf("Event's body: got %q, want %q byte for byte", got, e.Data)
	}
	checkDeliveries(t, s, e, all, violations)

	bare := &paygate.Event{ID: paygate.NewID("evt", Base), MerchantID: m.ID, Type: paygate.EventSecurityViolation, Data: []byte(`{}`),
		CreatedAt: Base.Add(time.Second)}
	MustCreateEvent(t, s.Events, bare)
	CheckEqual(t, "Event (bare)", MustEvent(t, s.Events, m.ID, bare.ID), bare)

	_, err := s.Events.Event(t.Context(), other.ID, e.ID)
	checkCode(t, "Event(another merchant's)", err, paygate.ENOTFOUND)
	_, err = s.Events.Event(t.Context(), m.ID, paygate.NewID("evt", Base))
	checkCode(t, "Event(unknown)", err, paygate.ENOTFOUND)

	again := NewEvent(t, m.ID, paygate.EventSecurityViolation, Base.Add(time.Minute))
	again.ID = e.ID
	if err := s.Events.CreateEvent(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateEvent with a taken id: got %v, want ErrDuplicate", err)
	}
	CheckEqual(t, "Event after a duplicate", MustEvent(t, s.Events, m.ID, e.ID), e)
	checkDeliveries(t, s, e, all, violations)
}

func testEventList(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	types := []string{paygate.EventPaymentAuthorized, paygate.EventPaymentCaptured, paygate.EventPaymentRefunded}
	var made []*paygate.Event // oldest first
	payID := paygate.NewID("pay", Base)
	for i := range 7 {
		e := NewEvent(t, m.ID, types[i%3], Base.Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			e.PaymentID = payID
		}
		MustCreateEvent(t, s.Events, e)
		made = append(made, e)
		MustCreateEvent(t, s.Events, NewEvent(t, other.ID, types[i%3], Base.Add(time.Duration(i)*time.Second)))
	}
	newest := slices.Clone(made)
	slices.Reverse(newest)
	pick := func(keep func(*paygate.Event) bool) []string {
		var out []string
		for _, e := range newest {
			if keep(e) {
				out = append(out, e.ID)
			}
		}
		return out
	}

	tests := []struct {
		name     string
		f        paygate.EventFilter
		want     []string
		wantMore bool
	}{
		{"first page", paygate.EventFilter{Limit: 3}, eventIDs(newest[:3]), true},
		{"second page", paygate.EventFilter{Limit: 3, StartingAfter: newest[2].ID}, eventIDs(newest[3:6]), true},
		{"last page", paygate.EventFilter{Limit: 3, StartingAfter: newest[5].ID}, eventIDs(newest[6:]), false},
		{"all in one page", paygate.EventFilter{Limit: 7}, eventIDs(newest), false},
		{"type", paygate.EventFilter{Limit: 10, Type: paygate.EventPaymentCaptured},
			pick(func(e *paygate.Event) bool { return e.Type == paygate.EventPaymentCaptured }), false},
		{"payment", paygate.EventFilter{Limit: 10, PaymentID: payID},
			pick(func(e *paygate.Event) bool { return e.PaymentID == payID }), false},
		{"type and payment", paygate.EventFilter{Limit: 10, Type: paygate.EventPaymentAuthorized, PaymentID: payID},
			pick(func(e *paygate.Event) bool { return e.PaymentID == payID && e.Type == paygate.EventPaymentAuthorized }), false},
		{"payment, paged", paygate.EventFilter{Limit: 2, PaymentID: payID, StartingAfter: newest[0].ID},
			pick(func(e *paygate.Event) bool { return e.PaymentID == payID && e.ID < newest[0].ID })[:2], true},
		{"no such type", paygate.EventFilter{Limit: 10, Type: paygate.EventSessionCompleted}, nil, false},
	}
	for _, tt := range tests {
		tt.f.MerchantID = m.ID
		list, more := mustEvents(t, s.Events, tt.f)
		if got := eventIDs(list); !slices.Equal(got, tt.want) || more != tt.wantMore {
			t.Errorf("Events, %s: got %v, more %v; want %v, more %v", tt.name, got, more, tt.want, tt.wantMore)
		}
	}
	list, _ := mustEvents(t, s.Events, paygate.EventFilter{MerchantID: m.ID, Limit: 1})
	CheckEqual(t, "Events' newest", list[0], made[6])
}
