package http_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// verifyStandardWebhook verifies a post-back as the Standard Webhooks
// specification tells a receiver to, written here from the specification's
// text and nothing of ours (neither the gateway's signing code nor the
// client's verifier):
//
//   - the headers webhook-id, webhook-timestamp (integer Unix seconds) and
//     webhook-signature (a space-delimited list of signatures);
//   - the timestamp within a tolerance of now (5 minutes), against replays;
//   - the content signed is "{msg_id}.{timestamp}.{payload}";
//   - a symmetric signature is "v1," then the base64 HMAC-SHA256 of it,
//     keyed with the base64-decoded secret after the "whsec_" prefix;
//   - compared in constant time; one that matches suffices.
func verifyStandardWebhook(h http.Header, body []byte, now time.Time, secrets []string) error {
	msgID, ts, list := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if msgID == "" || ts == "" || list == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not an integer")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp is %s from now", d)
	}
	content := msgID + "." + ts + "." + string(body)
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return errors.New("secret is not base64")
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(content))
		expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, sig := range strings.Split(list, " ") {
			version, value, _ := strings.Cut(sig, ",")
			if version == "v1" && hmac.Equal([]byte(value), []byte(expected)) {
				return nil
			}
		}
	}
	return errors.New("no signature matches")
}

// postback is an event as the receiver parsed it.
type postback struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// receiver is a merchant's webhook endpoint on 127.0.0.1: it verifies every
// post-back (verifyStandardWebhook, on the gateway's clock), answers with
// the status the test sets, and counts what it accepted (answered 2xx).
type receiver struct {
	*httptest.Server
	clock    *gatewaytest.Clock
	mu       sync.Mutex
	secrets  []string
	status   int
	reply    string
	posts    map[string]int // webhook-id → posts received
	accepted map[string]int // webhook-id → posts answered 2xx
	events   map[string]postback
	bad      []string // posts that failed verification
}

func newReceiver(t *testing.T, g *gatewaytest.Gateway) *receiver {
	t.Helper()
	rc := &receiver{clock: g.Clock, status: http.StatusOK, reply: "ok", posts: map[string]int{}, accepted: map[string]int{},
		events: map[string]postback{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.UserAgent() != "paygate" {
		rc.bad = append(rc.bad, fmt.Sprintf("%s with Content-Type %q, User-Agent %q", r.Method, r.Header.Get("Content-Type"), r.UserAgent()))
	}
	if err := verifyStandardWebhook(r.Header, body, rc.clock.Now(), rc.secrets); err != nil {
		rc.bad = append(rc.bad, err.Error())
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.posts[id]++
	if rc.status/100 != 2 {
		http.Error(w, rc.reply, rc.status)
		return
	}
	var ev postback
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		rc.bad = append(rc.bad, fmt.Sprintf("body %q (id %s): %v", body, id, err))
	}
	rc.accepted[id]++
	rc.events[id] = ev
	w.WriteHeader(rc.status)
	io.WriteString(w, rc.reply)
}

func (rc *receiver) setSecrets(s ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = s
}

func (rc *receiver) answer(status int, reply string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status, rc.reply = status, reply
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.accepted[id]
}

// check fails the test if a post failed verification, or an event was
// accepted more than once.
func (rc *receiver) check(t *testing.T) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bad {
		t.Errorf("the receiver refused a post-back: %s", b)
	}
	for id, n := range rc.accepted {
		if n != 1 {
			t.Errorf("event %s accepted %d times, want once", id, n)
		}
	}
}

// received returns the accepted events.
func (rc *receiver) received() []postback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]postback, 0, len(rc.events))
	for _, e := range rc.events {
		out = append(out, e)
	}
	return out
}

// deliverAll runs DeliverWebhooks until nothing is due, and returns how
// many deliveries it claimed.
func deliverAll(t *testing.T, g *paygate.Gateway) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := g.DeliverWebhooks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("DeliverWebhooks keeps finding work")
	return total
}

// mustHookEndpoint registers the receiver for every event type.
func mustHookEndpoint(t *testing.T, g *gatewaytest.Gateway, rc *receiver) *client.WebhookEndpoint {
	t.Helper()
	ep, err := g.Client().CreateWebhookEndpoint(ctx, client.WebhookEndpointParams{URL: rc.URL + "/hooks?shop=1"})
	if err != nil {
		t.Fatal(err)
	}
	rc.setSecrets(ep.Secret)
	return ep
}

// Every change of a payment's life, made through the API or the payment
// page, reaches the receiver once, verified, with the payment's id; a
// session's events carry its sequence, the one the redirect carries.
func TestPostbacksEveryEvent(t *testing.T) { gatewaytest.Engines(t, testPostbacksEveryEvent) }

func testPostbacksEveryEvent(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	rc := newReceiver(t, g)
	mustHookEndpoint(t, g, rc)
	c := g.Client()

	auth := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123"), Capture: new(false)})
	if _, err := c.Capture(ctx, auth.ID, client.CaptureParams{}); err != nil {
		t.Fatal(err)
	}
	refund, err := c.Refund(ctx, auth.ID, client.RefundParams{Amount: new(int64(1200))})
	if err != nil {
		t.Fatal(err)
	}
	voided := mustPay(t, c, client.PaymentParams{Amount: 800, Currency: "EUR", Card: card("4242424242424242", "123"), Capture: new(false)})
	if _, err := c.Void(ctx, voided.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreatePayment(ctx, client.PaymentParams{Amount: 300, Currency: "USD", Card: card("4000000000000002", "123")})
	declined := asError(t, err).PaymentID
	if declined == "" {
		t.Fatal("the decline names no payment")
	}

	// A hosted session: declined once, then paid.
	mustSetUpSessions(t, g)
	s, err := c.StartSession(ctx, client.SessionParams{Amount: 1999, Currency: "USD", OrderID: "order-1001"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Year() + 2
	_, first, _ := g.Gateway.PaySession(ctx, s.ID, paygate.AnyAttempt, paygate.Card{Number: "4000000000000002", ExpMonth: 12, ExpYear: exp, CVC: "123"})
	_, paid, err := g.Gateway.PaySession(ctx, s.ID, paygate.AnyAttempt, paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: exp, CVC: "123"})
	if err != nil || first == nil {
		t.Fatalf("pay the session: %v (first attempt %v)", err, first)
	}
	session := mustSession(t, g, s.ID)

	if n := deliverAll(t, g.Gateway); n != 9 {
		t.Errorf("delivered %d post-backs, want 9", n)
	}
	rc.check(t)
	type key struct{ typ, payment string }
	got := map[key]postback{}
	for _, e := range rc.received() {
		k := key{e.Type, fmt.Sprint(e.Data["payment_id"])}
		if _, dup := got[k]; dup {
			t.Errorf("%s of %s arrived as two events", k.typ, k.payment)
		}
		got[k] = e
	}
	for _, k := range []key{
		{client.EventPaymentAuthorized, auth.ID}, {client.EventPaymentCaptured, auth.ID}, {client.EventPaymentRefunded, auth.ID},
		{client.EventPaymentAuthorized, voided.ID}, {client.EventPaymentVoided, voided.ID},
		{client.EventPaymentDeclined, declined},
		{client.EventPaymentDeclined, first.ID}, {client.EventPaymentCaptured, paid.ID}, {client.EventSessionCompleted, paid.ID},
	} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s event for %s", k.typ, k.payment)
		}
	}
	if len(got) != 9 {
		t.Errorf("got %d events, want 9", len(got))
	}
	if e := got[key{client.EventPaymentRefunded, auth.ID}]; e.Data["refund_id"] != refund.ID || e.Data["refund_amount"] != float64(1200) {
		t.Errorf("refunded: got %v, want refund %s of 1200", e.Data, refund.ID)
	}
	if e := got[key{client.EventPaymentDeclined, declined}]; e.Data["decline_code"] == nil || e.Data["status"] != "declined" {
		t.Errorf("declined: got %v", e.Data)
	}
	// The session's events carry its sequence, as its redirect does.
	seq := float64(session.Sequence)
	if seq != 2 {
		t.Fatalf("the session's sequence is %d, want 2", session.Sequence)
	}
	done := got[key{client.EventSessionCompleted, paid.ID}]
	if done.Data["session_id"] != s.ID || done.Data["outcome"] != "approved" || done.Data["sequence"] != seq || done.Data["order_id"] != "order-1001" {
		t.Errorf("session.completed: got %v, want session %s approved, sequence %v", done.Data, s.ID, seq)
	}
	if e := got[key{client.EventPaymentCaptured, paid.ID}]; e.Data["session_id"] != s.ID || e.Data["sequence"] != seq {
		t.Errorf("the session's payment: got %v, want session %s, sequence %v", e.Data, s.ID, seq)
	}
	if e := got[key{client.EventPaymentDeclined, first.ID}]; e.Data["session_id"] != s.ID || e.Data["sequence"] != float64(1) {
		t.Errorf("the session's decline: got %v, want session %s, sequence 1", e.Data, s.ID)
	}
	u, err := g.Gateway.ResultURL(ctx, g.Merchant, session, paid)
	if err != nil {
		t.Fatal(err)
	}
	if q := mustQuery(t, u); q.Get("sequence") != "2" || q.Get("payment_id") != paid.ID {
		t.Errorf("the redirect carries sequence %s, payment %s; the post-back %v, %s", q.Get("sequence"), q.Get("payment_id"), seq, paid.ID)
	}

	// Every event the API lists was posted.
	n := 0
	for e, err := range c.Events(ctx, client.EventListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		if rc.count(e.ID) != 1 {
			t.Errorf("event %s (%s) was not delivered", e.ID, e.Type)
		}
		n++
	}
	if n != 9 {
		t.Errorf("the API lists %d events, want 9", n)
	}
	if deliverAll(t, g.Gateway) != 0 {
		t.Error("delivered again")
	}
}

// A receiver down for a day gets the event once it is back, once; the
// endpoint is marked failing meanwhile, and enabled again after.
func TestPostbacksReceiverDown(t *testing.T) { gatewaytest.Engines(t, testPostbacksReceiverDown) }

func testPostbacksReceiverDown(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	rc := newReceiver(t, g)
	ep := mustHookEndpoint(t, g, rc)
	c := g.Client()
	rc.answer(http.StatusServiceUnavailable, "down for maintenance")
	pay := mustPay(t, c, client.PaymentParams{Amount: 4200, Currency: "USD", Card: card("4242424242424242", "123")})
	list, err := c.ListEvents(ctx, client.EventListParams{PaymentID: pay.ID})
	if err != nil || len(list.Data) != 1 {
		t.Fatalf("events: %+v, %v", list, err)
	}
	ev := list.Data[0]

	const step = 10 * time.Minute
	tries := 0
	for elapsed := time.Duration(0); elapsed < 24*time.Hour; elapsed += step {
		tries += deliverAll(t, g.Gateway)
		g.Clock.Advance(step)
	}
	if tries < 9 {
		t.Errorf("tried %d times in a day, want at least 9", tries)
	}
	down, err := c.WebhookEndpoint(ctx, ep.ID)
	if err != nil || down.Status != client.EndpointFailing || down.Failures != tries || down.LastError != "the endpoint answered HTTP 503" {
		t.Errorf("endpoint after a day down: got %+v, %v; want failing after %d failures", down, err, tries)
	}
	if rc.count(ev.ID) != 0 {
		t.Fatal("accepted while down")
	}

	rc.answer(http.StatusOK, "ok")
	for elapsed := time.Duration(0); elapsed < 3*24*time.Hour && rc.count(ev.ID) == 0; elapsed += step {
		g.Clock.Advance(step)
		deliverAll(t, g.Gateway)
	}
	if rc.count(ev.ID) != 1 {
		t.Fatalf("accepted %d times once back, want 1", rc.count(ev.ID))
	}
	g.Clock.Advance(7 * 24 * time.Hour)
	if n := deliverAll(t, g.Gateway); n != 0 {
		t.Errorf("delivered %d more after a 2xx, want 0", n)
	}
	rc.check(t)
	ds, err := c.EventDeliveries(ctx, ev.ID)
	if err != nil || len(ds) != 1 || ds[0].Status != client.WebhookDelivered || len(ds[0].Attempts) != tries+1 {
		t.Fatalf("deliveries: got %+v, %v; want delivered after %d attempts", ds, err, tries+1)
	}
	last := ds[0].Attempts[tries]
	if ds[0].Attempts[0].Status != 503 || ds[0].Attempts[0].Response != "down for maintenance\n" || last.Status != 200 || last.Error != "" {
		t.Errorf("attempts: first %+v, last %+v", ds[0].Attempts[0], last)
	}
	// Retried on the schedule: each wait at least the one scheduled.
	for i := 1; i < len(ds[0].Attempts); i++ {
		if wait := ds[0].Attempts[i].At.Sub(ds[0].Attempts[i-1].At); wait < paygate.WebhookRetries[i-1] {
			t.Errorf("attempt %d came %s after the one before, want at least %s", i+1, wait, paygate.WebhookRetries[i-1])
		}
	}
	up, err := c.WebhookEndpoint(ctx, ep.ID)
	if err != nil || up.Status != client.EndpointEnabled || up.Failures != 0 || up.LastError != "" {
		t.Errorf("endpoint once delivered: got %+v, %v; want enabled, 0 failures", up, err)
	}
}

// A gateway that dies between the commit of a payment and its post-back
// loses nothing, and sends nothing twice: the node that starts on the same
// database delivers it, once — at once if the dead node had not claimed
// it, after the lease if it had.
func TestPostbacksAfterCrash(t *testing.T) { gatewaytest.Engines(t, testPostbacksAfterCrash) }

func testPostbacksAfterCrash(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	rc := newReceiver(t, g)
	mustHookEndpoint(t, g, rc)
	// The dead node had claimed the delivery of one payment's event, and
	// not yet that of the payment after it.
	second := mustPay(t, g.Client(), client.PaymentParams{Amount: 2000, Currency: "USD", Card: card("4242424242424242", "123")})
	claimed, err := g.Gateway.Webhooks.ClaimWebhookDeliveries(ctx, g.Clock.Now(), paygate.WebhookLease, paygate.WebhookBatch)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: got %d, %v; want 1", len(claimed), err)
	}
	first := mustPay(t, g.Client(), client.PaymentParams{Amount: 1000, Currency: "USD", Card: card("4242424242424242", "123")})
	g.Node.Close() // the crash: nothing delivered

	n := g.Reopen(t, gatewaytest.Options{})
	delivered := deliverAll(t, n.Gateway)
	firstEv, secondEv := eventOf(t, n, first.ID), eventOf(t, n, second.ID)
	if rc.count(firstEv.ID) != 1 || rc.count(secondEv.ID) != 0 {
		t.Fatalf("after the restart: accepted %d and %d (delivered %d), want 1 and 0",
			rc.count(firstEv.ID), rc.count(secondEv.ID), delivered)
	}
	n.Clock.Advance(paygate.WebhookLease)
	deliverAll(t, n.Gateway)
	if rc.count(firstEv.ID) != 1 || rc.count(secondEv.ID) != 1 {
		t.Errorf("after the lease: accepted %d and %d, want 1 and 1", rc.count(firstEv.ID), rc.count(secondEv.ID))
	}
	n.Clock.Advance(7 * 24 * time.Hour)
	if k := deliverAll(t, n.Gateway); k != 0 {
		t.Errorf("delivered %d more, want 0", k)
	}
	rc.check(t)
}

// eventOf returns the one event of a payment.
func eventOf(t *testing.T, g *gatewaytest.Gateway, paymentID string) *paygate.Event {
	t.Helper()
	list, _, err := g.Gateway.ListEvents(ctx, g.Merchant, paygate.EventFilter{PaymentID: paymentID})
	if err != nil || len(list) != 1 {
		t.Fatalf("events of %s: got %d, %v; want 1", paymentID, len(list), err)
	}
	return list[0]
}

// Two nodes delivering at once post each event once. Each node's first
// post waits until the other node posts too, so that both are at work at
// the same time, each holding deliveries it claimed while the other claims.
func TestPostbacksTwoNodes(t *testing.T) { gatewaytest.Engines(t, testPostbacksTwoNodes) }

func testPostbacksTwoNodes(t *testing.T, pg string) {
	var (
		mu      sync.Mutex
		posters = map[*paygate.Gateway]*meetingPoster{}
		meet    = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	)
	nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg, Setup: func(g *paygate.Gateway) {
		mu.Lock()
		defer mu.Unlock()
		p := &meetingPoster{Poster: g.Poster}
		posters[g], g.Poster = p, p
	}})
	for i, n := range nodes {
		posters[n.Gateway].here, posters[n.Gateway].there = meet[i], meet[1-i]
	}
	rc := newReceiver(t, nodes[0])
	mustHookEndpoint(t, nodes[0], rc)
	const payments = 3*paygate.WebhookBatch + 3
	for i := range payments {
		mustPay(t, nodes[i%2].Client(), client.PaymentParams{Amount: int64(100 + i), Currency: "USD", Card: card("4242424242424242", "123")})
	}
	var wg sync.WaitGroup
	counts := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() {
			for {
				k, err := n.Gateway.DeliverWebhooks(ctx)
				if err != nil || k == 0 {
					errs[i] = err
					return
				}
				counts[i] += k
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	for i, n := range nodes {
		if !posters[n.Gateway].met {
			t.Errorf("node %d posted alone: the other node never posted while it held its claim", i)
		}
	}
	if counts[0]+counts[1] != payments || counts[0] == 0 || counts[1] == 0 {
		t.Errorf("the nodes claimed %d and %d, want %d in all, some each", counts[0], counts[1], payments)
	}
	rc.check(t)
	rc.mu.Lock()
	accepted, posts := len(rc.accepted), 0
	for _, n := range rc.posts {
		posts += n
	}
	rc.mu.Unlock()
	if accepted != payments || posts != payments {
		t.Errorf("the receiver accepted %d events in %d posts, want %d in %d", accepted, posts, payments, payments)
	}
}

// meetingPoster holds a node's first post until the other node's poster
// posts too (here and there are closed by the first post of each).
type meetingPoster struct {
	paygate.Poster
	here, there chan struct{}
	once        sync.Once
	met         bool
}

func (p *meetingPoster) Post(c context.Context, wp paygate.WebhookPost) (*paygate.FetchResult, error) {
	p.once.Do(func() {
		close(p.here)
		select {
		case <-p.there:
			p.met = true
		case <-time.After(10 * time.Second): // a failure, reported above; never waited for when all is well
		}
	})
	return p.Poster.Post(c, wp)
}
