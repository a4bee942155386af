package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// eventJSON is an event as the API shows it: the body its post-backs
// carry, and "object".
type eventJSON struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func newEventJSON(e *paygate.Event) (eventJSON, error) {
	var body struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(e.Data, &body); err != nil || len(body.Data) == 0 {
		return eventJSON{}, fmt.Errorf("event %s: its body does not parse", e.ID)
	}
	return eventJSON{ID: e.ID, Object: "event", Type: e.Type, Timestamp: e.CreatedAt, Data: body.Data}, nil
}

// eventListParams are the query parameters of GET /v1/events.
var eventListParams = []string{"limit", "starting_after", "type", "payment_id"}

func (s *Server) listEvents(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	q := r.URL.Query()
	for _, name := range eventListParams {
		if q.Has(name) && q.Get(name) == "" {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, name, "Parameter %q is empty; leave it out not to filter by it.", name)
		}
	}
	f := paygate.EventFilter{Type: q.Get("type"), PaymentID: q.Get("payment_id"), StartingAfter: q.Get("starting_after")}
	if f.Type != "" && !slices.Contains(paygate.EventTypes, f.Type) {
		return nil, paygate.ParamErrorf(paygate.EMALFORMED, "type", "Type must be one of %s.", strings.Join(paygate.EventTypes, ", "))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, "limit", "Limit must be an integer between 1 and 100.")
		}
		f.Limit = n
	}
	list, more, err := s.Gateway.ListEvents(r.Context(), m, f)
	if err != nil {
		return nil, err
	}
	data := make([]eventJSON, 0, len(list))
	for _, e := range list {
		ej, err := newEventJSON(e)
		if err != nil {
			return nil, err
		}
		data = append(data, ej)
	}
	return listJSON{Object: "list", Data: data, HasMore: more}, nil
}

func (s *Server) getEvent(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	e, err := s.Gateway.Event(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newEventJSON(e)
}

// webhookDeliveryJSON is an event's delivery to one endpoint, with every
// attempt made.
type webhookDeliveryJSON struct {
	ID         string               `json:"id"`
	Object     string               `json:"object"`
	EventID    string               `json:"event_id"`
	EndpointID string               `json:"endpoint_id"`
	Status     string               `json:"status"`
	NextAt     *time.Time           `json:"next_at,omitempty"` // while pending: when it is due
	Attempts   []webhookAttemptJSON `json:"attempts"`
	CreatedAt  *time.Time           `json:"created_at,omitempty"`
	UpdatedAt  *time.Time           `json:"updated_at,omitempty"`
}

// webhookAttemptJSON is one try: when, the HTTP status (0 if none came),
// the milliseconds to the answer, why it failed, and the answer's first
// 1 KiB.
type webhookAttemptJSON struct {
	At       time.Time `json:"at"`
	Status   int       `json:"status"`
	Ms       int64     `json:"ms"`
	Error    string    `json:"error,omitempty"`
	Response string    `json:"response,omitempty"`
}

func newDeliveriesJSON(ds []*paygate.WebhookDelivery, as []*paygate.WebhookAttempt) []webhookDeliveryJSON {
	out := make([]webhookDeliveryJSON, 0, len(ds))
	for _, d := range ds {
		dj := webhookDeliveryJSON{ID: d.ID, Object: "webhook_delivery", EventID: d.EventID, EndpointID: d.EndpointID,
			Status: d.Status, Attempts: []webhookAttemptJSON{}, CreatedAt: timePtr(d.CreatedAt), UpdatedAt: timePtr(d.UpdatedAt)}
		if d.Status == paygate.WebhookPending {
			dj.NextAt = timePtr(d.NextAt)
		}
		for _, a := range as {
			if a.DeliveryID == d.ID {
				dj.Attempts = append(dj.Attempts, webhookAttemptJSON{At: a.At, Status: a.Status, Ms: a.Millis,
					Error: a.Error, Response: a.Response})
			}
		}
		out = append(out, dj)
	}
	return out
}

func (s *Server) eventDeliveries(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	ds, as, err := s.Gateway.EventDeliveries(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return listJSON{Object: "list", Data: newDeliveriesJSON(ds, as)}, nil
}

// redeliverEvent serves POST /v1/events/{id}/redeliver: the event is due
// again now at each endpoint that takes it; the answer lists the event's
// deliveries, those pending again among them.
func (s *Server) redeliverEvent(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if _, err := s.Gateway.Redeliver(r.Context(), m, id); err != nil {
		return nil, err
	}
	ds, as, err := s.Gateway.EventDeliveries(r.Context(), m, id)
	if err != nil {
		return nil, err
	}
	return listJSON{Object: "list", Data: newDeliveriesJSON(ds, as)}, nil
}
