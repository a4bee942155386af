package demoshop

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Flows: how an order was paid for.
const (
	FlowDirect   = "direct"      // the shop's own card form, client.CreatePayment
	FlowRedirect = "redirect"    // hosted page, Web Redirect (client.StartSession)
	FlowProxy    = "proxy"       // hosted page, Web Proxy (client.StartSession)
	FlowForm     = "form"        // hosted page from a signed HTML form (client.SignForm)
	FlowTR       = "transparent" // the shop's own form posted to the gateway (client.TransparentRedirectFields)
)

// Order is one of the shop's orders, as Orders reports it.
type Order struct {
	ID        string // the shop's order id, such as "redirect-5f0c2a91d3e4"
	Flow      string // FlowDirect, FlowRedirect, FlowProxy, FlowForm or FlowTR
	SessionID string // the hosted flows' session, "cs_..."
	PaymentID string
	// Outcome is "approved", "declined" or "canceled"; "" while the
	// customer has not paid.
	Outcome            string
	Amount             int64 // minor units
	Currency           string
	CardBrand          string
	CardLast4          string
	ConfirmationNumber string
	DeclineCode        string
	DeclineReason      string
	// Fulfilled counts the times the order was fulfilled (the mug
	// shipped): 1 after an approval however often its result arrives.
	Fulfilled int
	Acked     bool // the approval was acknowledged to the gateway
	CreatedAt time.Time
}

// order is an Order with the lock that makes its result be handled by one
// request at a time (held across the calls to the gateway). Its Order is
// guarded by the Shop's mu.
type order struct {
	proc sync.Mutex
	o    Order
}

// Orders returns the shop's orders, oldest first.
func (s *Shop) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, len(s.list))
	for i, o := range s.list {
		out[i] = o.o
	}
	return out
}

// orderFor returns the order kept under key, first making it from init
// if there is none.
func (s *Shop) orderFor(key string, init func() Order) *order {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[key]; ok {
		return o
	}
	if s.orders == nil {
		s.orders = map[string]*order{}
	}
	o := &order{o: init()}
	s.orders[key] = o
	s.list = append(s.list, o)
	return o
}

// update changes o under the shop's lock and returns it as it then is.
func (s *Shop) update(o *order, change func(*Order)) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&o.o)
	return o.o
}

// newOrderID returns a fresh order id for flow: the flow and 48 random
// bits.
func newOrderID(flow string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	return flow + "-" + hex.EncodeToString(b[:])
}

// validOrderID reports whether id is one newOrderID made for flow (the
// direct form posts it back: it is the customer's input).
func validOrderID(id, flow string) bool {
	rest, ok := strings.CutPrefix(id, flow+"-")
	if !ok || len(rest) != 12 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

// flowOf tells the flow of an order the shop first hears of by its result
// (the signed form's): by its order id, else the session's model.
func flowOf(orderID, model string) string {
	if strings.HasPrefix(orderID, FlowForm+"-") {
		return FlowForm
	}
	if model == FlowProxy {
		return FlowProxy
	}
	return FlowRedirect
}
