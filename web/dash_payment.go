package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// A payment's page: its facts, its timeline, its network trace (card as
// last 4), its refunds and post-back deliveries, and the actions the
// signed-in user's role and the payment's state allow, each through a
// confirmation step (dash_action.go).

type timelineEntry struct {
	At, What string
}

type traceRow struct {
	At, Event, Kind, MTI, STAN, Card, Amount, Response, Detail, Millis string
}

type refundRow struct {
	ID, Created, Amount, Status, Reason string
}

type deliveryRow struct {
	Event, Endpoint, Status, Attempts, Last string
}

type paymentData struct {
	P                                  *paygate.Payment
	Amount, Captured, Refunded, Card   string
	Status, Channel, Created, Currency string
	Timeline                           []timelineEntry
	Trace                              []traceRow
	Refunds                            []refundRow
	Deliveries                         []deliveryRow
	CanCapture, CanVoid, CanRefund     bool
	Notice                             string
	Receipt                            string
}

func (d *Dashboard) paymentPage(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	p, ok := d.loadPayment(w, r, m)
	if !ok {
		return
	}
	loc := merchantLocation(m)
	data := paymentData{P: p, Amount: formatMoney(p.Amount, p.Currency).Text(),
		Captured: formatMoney(p.AmountCaptured, p.Currency).Text(), Refunded: formatMoney(p.AmountRefunded, p.Currency).Text(),
		Card: cardLabel(p.Card), Status: statusLabel(p.Status), Channel: p.Channel.Label(), Created: when(p.CreatedAt, loc),
		Receipt: "/dashboard/receipts/" + p.ID}
	data.Timeline = timeline(p, loc)
	for _, e := range p.Trace {
		row := traceRow{At: e.At.In(loc).Format("2006-01-02 15:04:05.000"), Event: e.Event, Kind: e.Kind, MTI: e.MTI, STAN: e.STAN,
			Response: strings.TrimSpace(e.ResponseCode + " " + e.AuthCode), Detail: e.Detail}
		if len(e.Card) >= 4 {
			row.Card = "•••• " + e.Card[len(e.Card)-4:] // the trace keeps first 6 and last 4; pages show last 4
		}
		if e.Amount != 0 {
			c, _ := paygate.LookupCurrency(e.Currency)
			row.Amount = formatMoney(e.Amount, c).Text()
		}
		if e.Event != paygate.TraceSent {
			row.Millis = itoaMillis(e.Millis)
		}
		data.Trace = append(data.Trace, row)
	}
	for _, rf := range p.Refunds {
		data.Refunds = append(data.Refunds, refundRow{ID: rf.ID, Created: when(rf.CreatedAt, loc),
			Amount: formatMoney(rf.Amount, rf.Currency).Text(), Status: string(rf.Status), Reason: rf.Reason})
	}
	if err := d.loadDeliveries(r, m, p, loc, &data); err != nil {
		d.internalError(w, r, err)
		return
	}
	data.CanCapture = u.Role.Can(paygate.PermPaymentActions) && p.Status == paygate.StatusAuthorized
	data.CanVoid = u.Role.Can(paygate.PermPaymentActions) && p.CheckVoid() == nil
	data.CanRefund = u.Role.Can(paygate.PermPaymentActions) && p.Refundable() > 0
	switch r.URL.Query().Get("done") {
	case "capture":
		data.Notice = "The payment was captured."
	case "void":
		data.Notice = "The payment was voided."
	case "refund":
		data.Notice = "The refund was made."
	}
	d.render(w, r, http.StatusOK, "payment", data)
}

// loadPayment finds the payment of the path's {id}, or shows the 404 page.
func (d *Dashboard) loadPayment(w http.ResponseWriter, r *http.Request, m *paygate.Merchant) (*paygate.Payment, bool) {
	p, err := d.Gateway.Payment(r.Context(), m, r.PathValue("id"))
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		d.message(w, r, http.StatusNotFound, "Payment not found", "There is no such payment in this account.")
		return nil, false
	}
	if err != nil {
		d.internalError(w, r, err)
		return nil, false
	}
	return p, true
}

func (d *Dashboard) loadDeliveries(r *http.Request, m *paygate.Merchant, p *paygate.Payment, loc *time.Location, data *paymentData) error {
	if d.Gateway.Events == nil || d.Gateway.Webhooks == nil {
		return nil
	}
	events, _, err := d.Gateway.Events.Events(r.Context(), paygate.EventFilter{MerchantID: m.ID, PaymentID: p.ID, Limit: 20})
	if err != nil {
		return err
	}
	for _, e := range events {
		ds, attempts, err := d.Gateway.Webhooks.WebhookDeliveries(r.Context(), m.ID, e.ID)
		if err != nil {
			return err
		}
		for _, dl := range ds {
			row := deliveryRow{Event: e.Type, Endpoint: dl.EndpointID, Status: dl.Status, Attempts: itoa(dl.Attempts)}
			for _, a := range attempts {
				if a.DeliveryID == dl.ID {
					row.Last = when(a.At, loc) + " · HTTP " + itoa(a.Status)
				}
			}
			data.Deliveries = append(data.Deliveries, row)
		}
	}
	return nil
}

// timeline is every state change of a payment that its timestamps and
// trace record, oldest first.
func timeline(p *paygate.Payment, loc *time.Location) []timelineEntry {
	type ev struct {
		at   time.Time
		what string
	}
	evs := []ev{{p.CreatedAt, "Created (" + p.Channel.Label() + ")"}}
	for _, e := range p.Trace {
		switch e.Event {
		case paygate.TraceReceived:
			what := strings.ToUpper(e.Kind[:1]) + e.Kind[1:] + ": " + e.Detail
			evs = append(evs, ev{e.At, what})
		case paygate.TraceNoAnswer:
			evs = append(evs, ev{e.At, strings.ToUpper(e.Kind[:1]) + e.Kind[1:] + ": " + e.Detail})
		}
	}
	if !p.CapturedAt.IsZero() {
		evs = append(evs, ev{p.CapturedAt, "Captured " + formatMoney(p.AmountCaptured, p.Currency).Text()})
	}
	if !p.VoidedAt.IsZero() {
		evs = append(evs, ev{p.VoidedAt, "Voided"})
	}
	for _, rf := range p.Refunds {
		evs = append(evs, ev{rf.CreatedAt, "Refund of " + formatMoney(rf.Amount, rf.Currency).Text() + " requested"})
		if rf.Status != paygate.RefundPending {
			evs = append(evs, ev{rf.UpdatedAt, "Refund " + string(rf.Status)})
		}
	}
	if !p.AckedAt.IsZero() {
		evs = append(evs, ev{p.AckedAt, "Receipt acknowledged"})
	}
	if !p.SettledAt.IsZero() {
		evs = append(evs, ev{p.SettledAt, "Settled"})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.at.Compare(b.at) })
	out := make([]timelineEntry, 0, len(evs))
	for _, e := range evs {
		out = append(out, timelineEntry{At: e.at.In(loc).Format("2006-01-02 15:04:05"), What: e.what})
	}
	return out
}

func when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

func itoa(i int) string { return itoa64(int64(i)) }

func itoa64(i int64) string { return groupInt(i) }

func itoaMillis(ms int64) string { return itoa64(ms) + " ms" }
