package demoshop_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/demoshop"
	"github.com/paygate/paygate/internal/gatewaytest"
)

var ctx = context.Background()

const (
	approve = "4242424242424242"
	decline = "4000000000000002"
)

// env is a test gateway and the demo shop set up on it.
type env struct {
	t    *testing.T
	g    *gatewaytest.Gateway
	shop *demoshop.Shop
	srv  *httptest.Server
	logs *gatewaytest.SyncBuffer // the shop's
	// seen holds every request the shop's server got: its request line,
	// headers and body.
	seen *gatewaytest.SyncBuffer
}

func mustStart(t *testing.T, o gatewaytest.Options) *env {
	t.Helper()
	g := gatewaytest.MustOpen(t, o)
	logs := &gatewaytest.SyncBuffer{}
	shop := &demoshop.Shop{
		Client:     g.Client(),
		GatewayURL: g.URL(),
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:      g.Clock.Now,
	}
	seen := &gatewaytest.SyncBuffer{}
	h := shop.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		fmt.Fprintf(seen, "%s %s\n%v\n%s\n", r.Method, r.URL, r.Header, b)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	if err := shop.Setup(ctx, srv.URL); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	e := &env{t: t, g: g, shop: shop, srv: srv, logs: logs, seen: seen}
	t.Cleanup(e.checkLogs)
	return e
}

// checkLogs fails the test if a card number or the signing secret reached
// the shop's or the gateway's log.
func (e *env) checkLogs() {
	for name, logs := range map[string]string{"shop": string(e.logs.Bytes()), "gateway": string(e.g.Logs.Bytes())} {
		for _, secret := range []string{approve, decline, e.shop.SigningSecret, e.shop.AccessKey} {
			if secret != "" && strings.Contains(logs, secret) {
				e.t.Errorf("the %s's log holds %.10s...", name, secret)
			}
		}
	}
}

// browser makes requests as a browser would, without following redirects
// (the tests follow them, checking each).
var browser = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (e *env) do(method, u string, form url.Values) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return page{resp.StatusCode, string(b), resp.Header.Get("Location"), resp.Header}
}

func (e *env) get(u string) page { e.t.Helper(); return e.do("GET", u, nil) }

// text returns the text of the element with the id ("" if none).
func text(body, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

// inputs returns the named inputs of a page's form (the first one after
// marker), unescaped.
func inputs(t *testing.T, body, marker string) url.Values {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s in the page:\n%s", marker, body)
	}
	form := body[i:]
	if j := strings.Index(form, "</form>"); j >= 0 {
		form = form[:j]
	}
	v := url.Values{}
	attr := func(tag, name string) string {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(form, -1) {
		if name := attr(tag, "name"); name != "" {
			v.Set(name, attr(tag, "value"))
		}
	}
	return v
}

// buy starts a hosted session through the shop's button and returns the
// gateway's page it sends the browser to.
func (e *env) buy(model string) (sessionID, pageURL string) {
	e.t.Helper()
	p := e.do("POST", e.srv.URL+"/buy/"+model, url.Values{})
	prefix := e.g.URL() + "/pay/cs_"
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, prefix) {
		e.t.Fatalf("POST /buy/%s: got %d to %q, want 303 to %s...\n%s", model, p.status, p.location, prefix, p.body)
	}
	return strings.TrimPrefix(p.location, e.g.URL()+"/pay/"), p.location
}

// payOnPage pays on the gateway's payment page with the card and returns
// the gateway's answer to the card form.
func (e *env) payOnPage(pageURL, pan string) page {
	e.t.Helper()
	p := e.get(pageURL)
	if p.status != http.StatusOK && p.status != http.StatusPaymentRequired {
		e.t.Fatalf("GET %s: got %d\n%s", pageURL, p.status, p.body)
	}
	form := inputs(e.t, p.body, `class="pay-form"`)
	form.Set("number", pan)
	form.Set("exp_month", "12")
	form.Set("exp_year", strconv.Itoa(time.Now().Year()+2))
	form.Set("cvc", "123")
	form.Set("name", "Ada Lovelace")
	return e.followContinue(e.do("POST", pageURL, form))
}

// followContinue follows the gateway's post-redirect-get of a proxy
// session's end (303 to its /continue, where the shop's page is relayed),
// as a browser does.
func (e *env) followContinue(p page) page {
	e.t.Helper()
	if p.status == http.StatusSeeOther && strings.HasPrefix(p.location, "/pay/") && strings.HasSuffix(p.location, "/continue") {
		return e.get(e.g.URL() + p.location)
	}
	return p
}

// cancelOnPage presses the payment page's cancel button.
func (e *env) cancelOnPage(pageURL string) page {
	e.t.Helper()
	p := e.get(pageURL)
	form := inputs(e.t, p.body, `class="cancel-form"`)
	return e.followContinue(e.do("POST", pageURL+"/cancel", form))
}

// session is the session as the gateway reports it to the merchant.
func (e *env) session(id string) *client.Session {
	e.t.Helper()
	s, err := e.g.Client().Session(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// order returns the shop's order of the session (or payment) id.
func (e *env) order(id string) demoshop.Order {
	e.t.Helper()
	for _, o := range e.shop.Orders() {
		if o.SessionID == id || (o.SessionID == "" && o.PaymentID == id) {
			return o
		}
	}
	e.t.Fatalf("the shop has no order of %s: %+v", id, e.shop.Orders())
	return demoshop.Order{}
}

// merchant is the test merchant as stored now (with the shop's settings).
func (e *env) merchant() *paygate.Merchant {
	e.t.Helper()
	m, err := e.g.Merchants.Merchant(ctx, e.g.Merchant.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// wantReceipt checks a receipt page of an approved payment and returns
// its confirmation number.
func wantReceipt(t *testing.T, what string, p page, flow string) string {
	t.Helper()
	if p.status != http.StatusOK || text(p.body, "outcome") != "approved" || !strings.Contains(p.body, `id="receipt"`) {
		t.Fatalf("%s: got %d, outcome %q, want 200 and a receipt\n%s", what, p.status, text(p.body, "outcome"), p.body)
	}
	conf := text(p.body, "confirmation-number")
	if !regexp.MustCompile(`^PG-[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(conf) {
		t.Errorf("%s: confirmation number %q", what, conf)
	}
	for id, want := range map[string]string{"amount": "$19.99", "card": "Visa ending in 4242", "item": demoshop.ItemName} {
		if got := text(p.body, id); got != want {
			t.Errorf("%s: #%s is %q, want %q", what, id, got, want)
		}
	}
	if !strings.Contains(p.body, `data-flow="`+flow+`"`) {
		t.Errorf("%s: the page does not show the %s model", what, flow)
	}
	return conf
}

func TestSetup(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	set, err := e.g.Client().Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ret := e.srv.URL + "/return"
	if got := strings.Join(set.AllowedOrigins, " "); got != e.srv.URL {
		t.Errorf("allowed origins: got %q, want %q", got, e.srv.URL)
	}
	if set.SuccessURL != ret || set.DeclineURL != ret || set.CancelURL != ret {
		t.Errorf("result URLs: got %q, %q, %q, want %q", set.SuccessURL, set.DeclineURL, set.CancelURL, ret)
	}
	if set.DisplayName != demoshop.DisplayName {
		t.Errorf("display name: got %q, want %q", set.DisplayName, demoshop.DisplayName)
	}
	if len(set.SigningSecrets) != 1 || !strings.HasPrefix(e.shop.SigningSecret, client.SigningSecretPrefix) {
		t.Errorf("signing secrets: got %d listed, shop holds %.6s..., want 1 and whsec_", len(set.SigningSecrets), e.shop.SigningSecret)
	}
	if len(set.AccessKeys) != 1 || len(e.shop.AccessKey) != 36 {
		t.Errorf("access keys: got %d listed, shop holds one of %d characters; want 1, a UUID", len(set.AccessKeys), len(e.shop.AccessKey))
	}
	if e.shop.MerchantID != e.g.Merchant.ID || e.shop.URL != e.srv.URL {
		t.Errorf("shop: merchant %q, URL %q; want %q, %q", e.shop.MerchantID, e.shop.URL, e.g.Merchant.ID, e.srv.URL)
	}

	for _, bad := range []string{"", "not a url", "ftp://127.0.0.1:21", "http://"} {
		s := &demoshop.Shop{Client: e.g.Client()}
		if err := s.Setup(ctx, bad); err == nil {
			t.Errorf("Setup(%q): no error", bad)
		}
	}
	// A key the gateway refuses.
	s := &demoshop.Shop{Client: client.New(e.g.URL(), "sk_test_nope", client.WithMaxRetries(0))}
	if err := s.Setup(ctx, e.srv.URL); err == nil || !strings.Contains(err.Error(), "settings") {
		t.Errorf("Setup with a bad key: got %v, want an error about the settings", err)
	}
}

func TestHome(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	p := e.get(e.srv.URL + "/")
	if p.status != http.StatusOK {
		t.Fatalf("GET /: got %d\n%s", p.status, p.body)
	}
	for _, id := range []string{"buy-direct", "buy-redirect", "buy-proxy", "buy-form"} {
		if !strings.Contains(p.body, `id="`+id+`"`) {
			t.Errorf("GET /: no #%s", id)
		}
	}
	for _, s := range []string{"SAQ A", "SAQ D", "$19.99", `action="` + e.g.URL() + `/pay"`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("GET /: no %q", s)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}
	if strings.Contains(p.body, "<script") || strings.Contains(p.body, e.shop.SigningSecret) {
		t.Error("GET /: a script or the signing secret in the page")
	}
	// Each rendering signs a form of its own.
	a, b := inputs(t, p.body, `id="signed-form"`), inputs(t, e.get(e.srv.URL+"/").body, `id="signed-form"`)
	if a.Get("order_id") == "" || a.Get("order_id") == b.Get("order_id") || a.Get("signature") == b.Get("signature") {
		t.Errorf("two renderings: order ids %q, %q: want two different ones, signed", a.Get("order_id"), b.Get("order_id"))
	}
	if got := e.get(e.srv.URL + "/nowhere"); got.status != http.StatusNotFound || text(got.body, "error") == "" {
		t.Errorf("GET /nowhere: got %d\n%s", got.status, got.body)
	}
	// A form posted from another site is refused.
	req, _ := http.NewRequest("POST", e.srv.URL+"/buy/redirect", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(e.shop.Orders()) != 0 {
		t.Errorf("cross-site POST /buy/redirect: got %d, %d orders; want 403 and none", resp.StatusCode, len(e.shop.Orders()))
	}
}

// TestRedirect: the Web Redirect model end to end, on the gateway's pages:
// the receipt, one fulfilment and one Ack however often the result comes.
func TestRedirect(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{RequireAck: true})
	id, pageURL := e.buy(client.ModelRedirect)
	if o := e.order(id); o.Flow != demoshop.FlowRedirect || o.Outcome != "" || o.Fulfilled != 0 {
		t.Errorf("order before paying: %+v", o)
	}
	paid := e.payOnPage(pageURL, approve)
	if paid.status != http.StatusSeeOther || !strings.HasPrefix(paid.location, e.srv.URL+"/return?") {
		t.Fatalf("pay: got %d to %q, want 303 to the shop's /return\n%s", paid.status, paid.location, paid.body)
	}
	conf := wantReceipt(t, "the return", e.get(paid.location), demoshop.FlowRedirect)
	s := e.session(id)
	if conf != s.Payment.ConfirmationNumber || s.AckedAt == nil {
		t.Errorf("receipt %q, session %q acked %v: want the session's confirmation number and an Ack", conf, s.Payment.ConfirmationNumber, s.AckedAt)
	}
	if s.Payment.AckedAt == nil {
		t.Error("the payment is not acknowledged")
	}
	// The same result again (a reload), and once it is older than the
	// signature's tolerance (a bookmark): the same receipt, no second
	// fulfilment.
	if again := wantReceipt(t, "a reload", e.get(paid.location), demoshop.FlowRedirect); again != conf {
		t.Errorf("reload: confirmation %q, want %q", again, conf)
	}
	e.g.Clock.Advance(client.SignatureTolerance + time.Minute)
	if again := wantReceipt(t, "an old link", e.get(paid.location), demoshop.FlowRedirect); again != conf {
		t.Errorf("old link: confirmation %q, want %q", again, conf)
	}
	o := e.order(id)
	if o.Outcome != "approved" || o.Fulfilled != 1 || !o.Acked || o.ConfirmationNumber != conf || o.CardLast4 != "4242" {
		t.Errorf("order: %+v, want approved, fulfilled once, acked", o)
	}
	orders := e.get(e.srv.URL + "/orders")
	if !strings.Contains(orders.body, id) || !strings.Contains(orders.body, o.ID) || !strings.Contains(orders.body, `class="fulfilled">1<`) {
		t.Errorf("GET /orders does not list the order:\n%s", orders.body)
	}
}

// TestTamperedResult: a result whose signature does not verify is refused
// with a 400 and fulfils nothing; the genuine one still works after.
func TestTamperedResult(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	id, pageURL := e.buy(client.ModelRedirect)
	paid := e.payOnPage(pageURL, approve)
	u, err := url.Parse(paid.location)
	if err != nil || paid.status != http.StatusSeeOther {
		t.Fatalf("pay: got %d to %q", paid.status, paid.location)
	}
	other := paygate.NewSigningSecret()
	for _, c := range []struct {
		name   string
		tamper func(q url.Values)
	}{
		{"amount lowered", func(q url.Values) { q.Set("amount", "1") }},
		{"order changed", func(q url.Values) { q.Set("order_id", "redirect-000000000000") }},
		{"confirmation changed", func(q url.Values) { q.Set("confirmation_number", "PG-AAAA-AAAA") }},
		{"parameter added", func(q url.Values) { q.Set("coupon", "FREE") }},
		{"timestamp moved", func(q url.Values) {
			ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
			q.Set("timestamp", strconv.FormatInt(ts+1, 10))
		}},
		{"no signature", func(q url.Values) { q.Del("signature") }},
		{"signed with another secret", func(q url.Values) {
			key, err := paygate.SigningKey(other)
			if err != nil {
				t.Fatal(err)
			}
			paygate.SignQuery([][]byte{key}, q, e.g.Clock.Now())
		}},
		{"no query", func(q url.Values) { clear(q) }},
	} {
		q := u.Query()
		c.tamper(q)
		p := e.get(e.srv.URL + "/return?" + q.Encode())
		if p.status != http.StatusBadRequest || text(p.body, "error") != demoshop.BadSignatureMessage {
			t.Errorf("%s: got %d %q, want 400 %q", c.name, p.status, text(p.body, "error"), demoshop.BadSignatureMessage)
		}
		if strings.Contains(p.body, `id="receipt"`) {
			t.Errorf("%s: a receipt", c.name)
		}
	}
	if o := e.order(id); o.Outcome != "" || o.Fulfilled != 0 || o.Acked {
		t.Errorf("order after tampered results: %+v, want nothing recorded", o)
	}
	if s := e.session(id); s.AckedAt != nil {
		t.Error("a tampered result was acknowledged")
	}
	wantReceipt(t, "the genuine result", e.get(paid.location), demoshop.FlowRedirect)
	if o := e.order(id); o.Fulfilled != 1 {
		t.Errorf("after the genuine result: fulfilled %d, want 1", o.Fulfilled)
	}
}

// TestResultNotTheGateways: a result signed with the shop's own secret (a
// leaked secret) that the gateway does not confirm fulfils nothing.
func TestResultNotTheGateways(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	id, _ := e.buy(client.ModelRedirect)
	key, err := paygate.SigningKey(e.shop.SigningSecret)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"session_id": {id}, "result": {"approved"}, "amount": {"1999"}, "currency": {"USD"},
		"order_id": {e.order(id).ID}, "sequence": {"1"}, "payment_id": {"pay_forged"}, "confirmation_number": {"PG-AAAA-AAAA"}}
	paygate.SignQuery([][]byte{key}, q, e.g.Clock.Now())
	p := e.get(e.srv.URL + "/return?" + q.Encode())
	if p.status != http.StatusConflict || !strings.Contains(text(p.body, "error"), "does not match what the gateway reports") {
		t.Errorf("forged approval: got %d %q, want 409", p.status, text(p.body, "error"))
	}
	if o := e.order(id); o.Outcome != "" || o.Fulfilled != 0 {
		t.Errorf("order after a forged approval: %+v", o)
	}
}

// TestDeclineAndCancel: the last decline and a cancel come back to
// /return and say so; nothing is fulfilled or acknowledged.
func TestDeclineAndCancel(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	id, pageURL := e.buy(client.ModelRedirect)
	var last page
	for i := 1; i <= paygate.MaxSessionDeclines; i++ {
		last = e.payOnPage(pageURL, decline)
		if i < paygate.MaxSessionDeclines && (last.status != http.StatusSeeOther || last.location != strings.TrimPrefix(pageURL, e.g.URL())) {
			t.Fatalf("decline %d: got %d to %q, want 303 back to the page", i, last.status, last.location)
		}
	}
	if last.status != http.StatusSeeOther || !strings.HasPrefix(last.location, e.srv.URL+"/return?") {
		t.Fatalf("last decline: got %d to %q, want 303 to /return", last.status, last.location)
	}
	p := e.get(last.location)
	if p.status != http.StatusOK || text(p.body, "outcome") != "declined" || text(p.body, "decline-reason") == "" {
		t.Errorf("declined result: got %d %q %q\n%s", p.status, text(p.body, "outcome"), text(p.body, "decline-reason"), p.body)
	}
	if o := e.order(id); o.Outcome != "declined" || o.Fulfilled != 0 || o.Acked || o.DeclineCode == "" {
		t.Errorf("declined order: %+v", o)
	}

	id, pageURL = e.buy(client.ModelRedirect)
	c := e.cancelOnPage(pageURL)
	if c.status != http.StatusSeeOther || !strings.HasPrefix(c.location, e.srv.URL+"/return?") {
		t.Fatalf("cancel: got %d to %q", c.status, c.location)
	}
	if p := e.get(c.location); p.status != http.StatusOK || text(p.body, "outcome") != "canceled" {
		t.Errorf("canceled result: got %d %q", p.status, text(p.body, "outcome"))
	}
	if o := e.order(id); o.Outcome != "canceled" || o.Fulfilled != 0 || o.PaymentID != "" {
		t.Errorf("canceled order: %+v", o)
	}
}

// TestProxy: the Web Proxy model: the gateway GETs /proxy/result itself
// and relays the shop's receipt; the shop verifies, fulfils once and acks.
func TestProxy(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	id, pageURL := e.buy(client.ModelProxy)
	p := e.payOnPage(pageURL, approve)
	conf := wantReceipt(t, "the relayed page", p, demoshop.FlowProxy)
	if !strings.HasPrefix(p.header.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(p.body, `id="proxied"`) {
		t.Errorf("relayed page: CSP %q, want the gateway's sandbox and the proxy note", p.header.Get("Content-Security-Policy"))
	}
	// The page is shown on the gateway's address: its links must lead to
	// the shop.
	for _, m := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		if !strings.HasPrefix(m[1], e.srv.URL+"/") {
			t.Errorf("relayed page: link %q does not lead to the shop", m[1])
		}
	}
	s := e.session(id)
	if conf != s.Payment.ConfirmationNumber || s.AckedAt == nil {
		t.Errorf("confirmation %q (session's %q), acked %v", conf, s.Payment.ConfirmationNumber, s.AckedAt)
	}
	// The gateway delivers it again (a retry): the same page, one fulfilment.
	res, err := e.g.Gateway.DeliverProxy(ctx, e.merchant(), mustSession(t, e, id), mustPayment(t, e, s.Payment.ID))
	if err != nil || !strings.Contains(string(res.Body), conf) {
		t.Fatalf("deliver again: %v", err)
	}
	if o := e.order(id); o.Flow != demoshop.FlowProxy || o.Outcome != "approved" || o.Fulfilled != 1 || !o.Acked {
		t.Errorf("order: %+v, want approved, fulfilled once, acked", o)
	}

	// A cancel of a proxy session goes to /proxy/result too (its cancel URL).
	id, pageURL = e.buy(client.ModelProxy)
	if c := e.cancelOnPage(pageURL); c.status != http.StatusOK || text(c.body, "outcome") != "canceled" ||
		!strings.Contains(c.body, `data-flow="proxy"`) {
		t.Errorf("cancel: got %d %q\n%s", c.status, text(c.body, "outcome"), c.body)
	}
	if o := e.order(id); o.Outcome != "canceled" {
		t.Errorf("canceled order: %+v", o)
	}

	// The last decline goes to the session's response URL too: in the
	// proxy model it handles every result.
	id, pageURL = e.buy(client.ModelProxy)
	var last page
	for range paygate.MaxSessionDeclines {
		last = e.payOnPage(pageURL, decline)
	}
	if last.status != http.StatusOK || text(last.body, "outcome") != "declined" || !strings.Contains(last.body, `data-flow="proxy"`) ||
		!strings.Contains(last.body, `<base href="`+e.srv.URL+`/proxy/result">`) {
		t.Errorf("last decline: got %d %q\n%s", last.status, text(last.body, "outcome"), last.body)
	}
	if o := e.order(id); o.Outcome != "declined" || o.Fulfilled != 0 {
		t.Errorf("declined order: %+v", o)
	}
}

// TestProxyDown: while the shop's response URL fails the customer gets
// the gateway's own receipt and nothing is fulfilled; the gateway's retry
// then fulfils the order once.
func TestProxyDown(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	id, pageURL := e.buy(client.ModelProxy)
	e.shop.ProxyDown.Store(true)
	p := e.payOnPage(pageURL, approve)
	if p.status != http.StatusOK || strings.Contains(p.body, `data-flow="proxy"`) {
		t.Fatalf("pay while the shop is down: got %d, want the gateway's own receipt\n%s", p.status, p.body)
	}
	if o := e.order(id); o.Outcome != "" || o.Fulfilled != 0 {
		t.Errorf("order while down: %+v, want nothing recorded", o)
	}
	if s := e.session(id); s.Outcome != client.OutcomeApproved || s.AckedAt != nil {
		t.Errorf("session: outcome %q acked %v", s.Outcome, s.AckedAt)
	}
	e.shop.ProxyDown.Store(false)
	e.g.Clock.Advance(paygate.DeliveryRetries[0])
	if n, err := e.g.Gateway.RetryDeliveries(ctx); n != 1 || err != nil {
		t.Fatalf("RetryDeliveries: %d, %v; want 1", n, err)
	}
	if o := e.order(id); o.Outcome != "approved" || o.Fulfilled != 1 || !o.Acked {
		t.Errorf("order after the retry: %+v, want approved, fulfilled once, acked", o)
	}
	if s := e.session(id); s.AckedAt == nil {
		t.Error("the session is not acknowledged after the retry")
	}
}

// TestSignedForm: the home page's signed form, posted to the gateway's
// /pay, opens a session whose result comes back to /return.
func TestSignedForm(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{})
	home := e.get(e.srv.URL + "/")
	form := inputs(t, home.body, `id="signed-form"`)
	orderID := form.Get("order_id")
	if form.Get("merchant_id") != e.g.Merchant.ID || form.Get("amount") != "1999" || form.Get("return_url") != e.srv.URL+"/return" {
		t.Errorf("signed form fields: %v", form)
	}
	p := e.do("POST", e.g.URL()+"/pay", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/pay/cs_") {
		t.Fatalf("POST /pay: got %d to %q\n%s", p.status, p.location, p.body)
	}
	id := strings.TrimPrefix(p.location, "/pay/")
	paid := e.payOnPage(e.g.URL()+p.location, approve)
	if paid.status != http.StatusSeeOther {
		t.Fatalf("pay: got %d", paid.status)
	}
	wantReceipt(t, "the return", e.get(paid.location), demoshop.FlowForm)
	if o := e.order(id); o.ID != orderID || o.Flow != demoshop.FlowForm || o.Fulfilled != 1 || !o.Acked {
		t.Errorf("order: %+v, want %s by form, fulfilled once, acked", o, orderID)
	}
}

// TestDirect: the shop's own card form: the receipt, a double submit that
// pays once, a decline and an invalid card shown inline without the card.
func TestDirect(t *testing.T) {
	e := mustStart(t, gatewaytest.Options{RequireAck: true})
	form := func(pan string) url.Values {
		f := inputs(t, e.get(e.srv.URL+"/direct").body, `id="direct-form"`)
		f.Set("number", pan)
		f.Set("cvc", "123")
		f.Set("name", "Ada Lovelace")
		return f
	}
	f := form(approve)
	if !strings.HasPrefix(f.Get("order_id"), "direct-") || f.Get("exp_year") == "" {
		t.Fatalf("direct form fields: %v", f)
	}
	conf := wantReceipt(t, "direct", e.do("POST", e.srv.URL+"/direct", f), demoshop.FlowDirect)
	// The same form again (a double click): the same payment.
	if again := wantReceipt(t, "direct again", e.do("POST", e.srv.URL+"/direct", f), demoshop.FlowDirect); again != conf {
		t.Errorf("double submit: confirmation %q, want %q", again, conf)
	}
	list, err := e.g.Client().ListPayments(ctx, client.ListParams{OrderID: f.Get("order_id")})
	if err != nil || len(list.Data) != 1 {
		t.Fatalf("payments of the order: %v, %v; want one", list, err)
	}
	pay := list.Data[0]
	if o := e.order(pay.ID); o.Flow != demoshop.FlowDirect || o.Fulfilled != 1 || !o.Acked || o.ConfirmationNumber != conf {
		t.Errorf("order: %+v", o)
	}
	if pay.AckedAt == nil {
		t.Error("the direct payment is not acknowledged")
	}

	for _, c := range []struct {
		name, pan string
		status    int
		invalid   string // the field marked
	}{
		{"declined", decline, http.StatusPaymentRequired, ""},
		{"not a card number", "4242424242424241", http.StatusUnprocessableEntity, "card-number"},
	} {
		p := e.do("POST", e.srv.URL+"/direct", form(c.pan))
		if p.status != c.status || text(p.body, "error") == "" || !strings.Contains(p.body, `id="direct-form"`) {
			t.Errorf("%s: got %d %q, want %d and the form with the reason", c.name, p.status, text(p.body, "error"), c.status)
		}
		if strings.Contains(p.body, c.pan) || strings.Contains(p.body, c.pan[len(c.pan)-8:]) {
			t.Errorf("%s: the card number is in the page", c.name)
		}
		if c.invalid != "" && !regexp.MustCompile(`id="`+c.invalid+`"[^>]*aria-invalid="true"`).MatchString(p.body) {
			t.Errorf("%s: #%s not marked invalid", c.name, c.invalid)
		}
	}
	var declined int
	for _, o := range e.shop.Orders() {
		if o.Outcome == "declined" {
			declined++
			if o.Fulfilled != 0 || o.DeclineCode == "" {
				t.Errorf("declined order: %+v", o)
			}
		}
	}
	if declined != 1 {
		t.Errorf("declined orders: %d, want 1", declined)
	}
}

func mustSession(t *testing.T, e *env, id string) *paygate.Session {
	t.Helper()
	s, _, err := e.g.Gateway.SessionResult(ctx, e.merchant(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPayment(t *testing.T, e *env, id string) *paygate.Payment {
	t.Helper()
	p, err := e.g.Payments.Payment(ctx, e.g.Merchant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
