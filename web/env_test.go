package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// Test cards of the simulated bank (bank/doc.go).
const (
	cardOK      = "4242424242424242"
	cardDecline = "4000000000000002" // 05 do not honor
	cardCVC     = "4000000000000127" // N7 incorrect CVC
	testCVC     = "739"
)

// env is a running gateway with the pages mounted on its server, a
// merchant with settings and a signing secret, and the merchant's site.
type env struct {
	t        *testing.T
	gw       *gatewaytest.Gateway
	g        *paygate.Gateway
	shop     *shop
	merchant *paygate.Merchant
	secret   string
	sessions *countingSessions
	client   *http.Client

	mu     sync.Mutex
	bodies [][]byte // every page body read, to look for card data
}

type envOptions struct {
	pg    string
	model string // the merchant's default model
	tls   bool
	setup func(*paygate.Gateway) // adjusts the gateway before it serves
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, shop: newShop(t)}
	e.gw = gatewaytest.MustOpen(t, gatewaytest.Options{
		Postgres: o.pg,
		Setup: func(g *paygate.Gateway) {
			e.sessions = &countingSessions{SessionStore: g.Sessions}
			g.Sessions = e.sessions
			if o.setup != nil {
				o.setup(g)
			}
		},
		Server: func(s *pghttp.Server) {
			s.Pages = &web.Handler{Gateway: s.Gateway, Logger: s.Logger, CSRFKey: bytes.Repeat([]byte{9}, 32), TLS: o.tls}
		},
	})
	e.g = e.gw.Gateway
	ctx := context.Background()
	m, err := e.g.Merchants.Merchant(ctx, e.gw.Merchant.ID)
	if err != nil {
		t.Fatal(err)
	}
	origin := e.shop.srv.URL
	model := o.model
	if model == "" {
		model = paygate.ModelRedirect
	}
	if err := m.ApplySettings(paygate.SettingsUpdate{
		AllowedOrigins: &[]string{origin},
		DeclineURL:     ptr(origin + "/declined"),
		CancelURL:      ptr(origin + "/canceled"),
		DefaultModel:   &model,
		DisplayName:    ptr("Blue Heron Books"),
		LogoURL:        ptr(origin + "/logo.png"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Merchants.UpdateMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	e.merchant = m
	if e.secret, err = e.g.RotateSigningSecret(ctx, m); err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.client = &http.Client{
		Jar:           jar, // as a browser keeps the page's cookie (the name typed before a decline)
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	t.Cleanup(func() { e.checkNoCardData() })
	return e
}

func ptr[T any](v T) *T { return &v }

// start opens a session of $12.50 (in the merchant's default model unless
// model is given).
func (e *env) start(model string) *paygate.Session {
	e.t.Helper()
	s, err := e.g.StartSession(context.Background(), e.merchant, paygate.SessionRequest{
		Amount: 1250, Currency: "USD", OrderID: "order-1001", Description: "Two paperbacks",
		ReturnURL: e.shop.srv.URL + "/paid", Model: model,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) session(id string) *paygate.Session {
	e.t.Helper()
	s, err := e.g.Sessions.Session(context.Background(), "", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// payments counts the merchant's payments.
func (e *env) payments() int {
	e.t.Helper()
	list, _, err := e.g.Payments.Payments(context.Background(), paygate.PaymentFilter{MerchantID: e.merchant.ID, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

type response struct {
	*http.Response
	body string
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	r, err := e.doErr(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// doErr is do for any goroutine.
func (e *env) doErr(req *http.Request) (response, error) {
	resp, err := e.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, b)
	e.mu.Unlock()
	return response{resp, string(b)}, nil
}

// postRequest is a same-origin POST of form, as the payment page makes.
func (e *env) postRequest(path string, form url.Values) *http.Request {
	req, err := http.NewRequest("POST", e.gw.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.gw.URL())
	return req
}

func (e *env) get(path string) response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.gw.URL()+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// post posts a form as the payment page would (same-origin).
func (e *env) post(path string, form url.Values) response {
	e.t.Helper()
	return e.postWith(path, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.gw.URL()})
}

func (e *env) postWith(path string, form url.Values, headers map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.gw.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return e.do(req)
}

var (
	csrfRe    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	attemptRe = regexp.MustCompile(`name="attempt" value="([0-9]+)"`)
)

// cardForm reads the payment page of a session and fills its card form.
func (e *env) cardForm(id, number, cvc string) url.Values {
	e.t.Helper()
	r := e.get("/pay/" + id)
	if r.StatusCode != 200 {
		e.t.Fatalf("GET /pay/%s: got %d, want 200:\n%s", id, r.StatusCode, r.body)
	}
	return fillForm(e.t, r.body, number, cvc)
}

func fillForm(t *testing.T, page, number, cvc string) url.Values {
	t.Helper()
	csrf, attempt := csrfRe.FindStringSubmatch(page), attemptRe.FindStringSubmatch(page)
	if csrf == nil || attempt == nil {
		t.Fatalf("no card form in the page:\n%s", page)
	}
	return url.Values{"csrf_token": {csrf[1]}, "attempt": {attempt[1]}, "number": {number}, "cvc": {cvc},
		"exp_month": {"12"}, "exp_year": {strconv.Itoa(time.Now().Year() + 3)}, "name": {"Ada Lovelace"}}
}

// verify checks a signed result URL with the merchant's secret and returns
// its query.
func (e *env) verify(raw string) url.Values {
	e.t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	q := u.Query()
	key, err := paygate.SigningKey(e.secret)
	if err != nil {
		e.t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if !paygate.SignatureValid([][]byte{key}, q.Get("signature"), ts, paygate.CanonicalQuery(q)) {
		e.t.Fatalf("result URL %s: signature does not verify", raw)
	}
	return q
}

// signForm signs a payment form as the merchant's server would.
func (e *env) signForm(form url.Values, at time.Time) url.Values {
	e.t.Helper()
	key, err := paygate.SigningKey(e.secret)
	if err != nil {
		e.t.Fatal(err)
	}
	paygate.SignQuery([][]byte{key}, form, at)
	return form
}

var cvcRe = regexp.MustCompile(`(^|[^0-9A-Za-z_.-])` + testCVC + `([^0-9A-Za-z_.µ-]|$)`)

// checkNoCardData looks for the test cards and the CVC in every page read
// and in the logs.
func (e *env) checkNoCardData() {
	t := e.t
	logs := e.gw.Logs.Bytes()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, pan := range []string{cardOK, cardDecline, cardCVC, "4242 4242 4242 4242", "4242+4242", "4000+0000"} {
		if bytes.Contains(logs, []byte(pan)) {
			t.Errorf("the logs hold card number %s", pan)
		}
		for i, b := range e.bodies {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("page %d holds card number %s:\n%s", i, pan, b)
			}
		}
	}
	if cvcRe.Match(logs) {
		t.Errorf("the logs hold the CVC: %s", cvcRe.Find(logs))
	}
	for i, b := range e.bodies {
		if cvcRe.Match(b) {
			t.Errorf("page %d holds the CVC:\n%s", i, b)
		}
	}
}

// countingSessions counts the sessions created.
type countingSessions struct {
	paygate.SessionStore
	mu      sync.Mutex
	created int
}

func (s *countingSessions) CreateSession(ctx context.Context, sess *paygate.Session) error {
	err := s.SessionStore.CreateSession(ctx, sess)
	if err == nil {
		s.mu.Lock()
		s.created++
		s.mu.Unlock()
	}
	return err
}

func (s *countingSessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// shop is the merchant's site: it records the result URLs it gets and
// answers them with a page (or a failure).
type shop struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []*url.URL
	status int // answer to result URLs; 0: 200
}

func newShop(t *testing.T) *shop {
	s := &shop{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.URL)
		status := s.status
		s.mu.Unlock()
		if status != 0 {
			http.Error(w, "down for maintenance", status)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><HEAD><title>Blue Heron Books</title><link rel="stylesheet" href="shop.css"></HEAD>`+
			`<body><h1>Thank you: %s</h1><img src="img/heron.png" alt=""><a href="orders">Your orders</a></body></html>`,
			r.URL.Query().Get("result"))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *shop) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *shop) requests() []*url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*url.URL(nil), s.hits...)
}

// afterDecline checks that a declined submit sends the browser back to the
// payment page (post, redirect, get) and returns that page, as the browser
// shows it.
func (e *env) afterDecline(r response, id string) response {
	e.t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/pay/"+id {
		e.t.Fatalf("declined submit: got %d to %q, want 303 to /pay/%s:\n%s", r.StatusCode, r.Header.Get("Location"), id, r.body)
	}
	return e.get("/pay/" + id)
}

// afterProxy checks that a proxy session's final submit sends the browser
// on to /continue (post, redirect, get) and returns what that shows.
func (e *env) afterProxy(r response, id string) response {
	e.t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/pay/"+id+"/continue" {
		e.t.Fatalf("proxy submit: got %d to %q, want 303 to /pay/%s/continue:\n%s", r.StatusCode, r.Header.Get("Location"), id, r.body)
	}
	return e.get("/pay/" + id + "/continue")
}
