package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// trEnv is env with the merchant's access key, for transparent redirect
// forms posted from the shop's origin.
type trEnv struct {
	*env
	key    string
	events *eventLog
}

// eventLog records the events written apart from changes (security
// violations).
type eventLog struct {
	paygate.EventStore
	mu   sync.Mutex
	list []*paygate.Event
}

func (s *eventLog) CreateEvent(ctx context.Context, e *paygate.Event) error {
	s.mu.Lock()
	s.list = append(s.list, e)
	s.mu.Unlock()
	if s.EventStore != nil {
		return s.EventStore.CreateEvent(ctx, e)
	}
	return nil
}

func (s *eventLog) events() []*paygate.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*paygate.Event(nil), s.list...)
}

func newTREnv(t *testing.T, pg string) *trEnv {
	t.Helper()
	log := &eventLog{}
	e := &trEnv{events: log}
	e.env = newEnv(t, envOptions{pg: pg, setup: func(g *paygate.Gateway) {
		log.EventStore = g.Events
		g.Events = log
	}})
	_, key, err := e.g.RotateAccessKey(context.Background(), e.merchant)
	if err != nil {
		t.Fatal(err)
	}
	e.key = key
	return e
}

// trFields are the hidden fields of a form of $19.99 hashed with the
// merchant's access key now, its URLs on the shop (kv sets or, with "",
// removes fields before the hash is made).
func (e *trEnv) trFields(kv ...string) url.Values {
	e.t.Helper()
	f, err := client.TransparentRedirectFields(client.TRParams{
		AccountID: e.merchant.ID, Amount: 1999, Description: "A paperback", OrderID: "order-" + paygate.RandomDigits(6),
		SuccessURL: e.shop.srv.URL + "/ok?cart=7", DeclineURL: e.shop.srv.URL + "/no",
	}, e.key, e.gw.Clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(kv) > 0 {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		names, err := paygate.ParseHashKey(f.Get("hash_key"))
		if err != nil {
			e.t.Fatal(err)
		}
		f.Set("hash", paygate.TRHash(paygate.TRHashString(f, e.key, names, false)))
	}
	return f
}

// withCard adds what the customer types.
func withCard(f url.Values, number string) url.Values {
	c := url.Values{}
	for k, v := range f {
		c[k] = v
	}
	c.Set("card_number", number)
	c.Set("card_expiration", "12"+strconv.Itoa(time.Now().Year() + 3)[2:])
	c.Set("card_verification", testCVC)
	c.Set("first_name", "Ada")
	c.Set("last_name", "Lovelace")
	return c
}

// postTR posts a form to /tr from the shop's page: cross-site, as a
// browser sends it.
func (e *trEnv) postTR(form url.Values) response {
	e.t.Helper()
	r, err := e.postTRErr(form)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *trEnv) postTRErr(form url.Values) (response, error) {
	req, err := http.NewRequest("POST", e.gw.URL()+"/tr", strings.NewReader(form.Encode()))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.shop.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	return e.doErr(req)
}

// result checks a 303 to a URL starting with prefix, verifies its signed
// result as a merchant does (client.VerifyTransparentRedirect) and returns
// it.
func (e *trEnv) result(r response, prefix string) *client.TRResult {
	e.t.Helper()
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		e.t.Fatalf("POST /tr: got %d to %q, want 303 to %s...:\n%s", r.StatusCode, loc, prefix, r.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := client.VerifyTransparentRedirect(u.Query(), e.gw.Clock.Now(), e.secret)
	if err != nil {
		e.t.Fatalf("the result at %s does not verify: %v", loc, err)
	}
	for _, k := range []string{"card_number", "card_verification", "card_expiration", "hash", "api_accesskey"} {
		if u.Query().Has(k) {
			e.t.Errorf("the result carries %s", k)
		}
	}
	return res
}

func (e *trEnv) payment(id string) *paygate.Payment {
	e.t.Helper()
	p, err := e.g.Payments.Payment(context.Background(), e.merchant.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestTRApproved(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newTREnv(t, pg)
		for _, tt := range []struct {
			typ    string
			status paygate.PaymentStatus
		}{{"SALE", paygate.StatusCaptured}, {"AUTHORIZATION", paygate.StatusAuthorized}} {
			f := e.trFields("transaction_type", tt.typ)
			r := e.postTR(withCard(f, cardOK))
			for k, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			res := e.result(r, e.shop.srv.URL+"/ok?")
			p := e.payment(res.TransactionID)
			if !res.Approved || res.Amount != 1999 || res.Type != tt.typ || res.OrderID != f.Get("order_id") ||
				res.CardBrand != "visa" || res.CardLast4 != "4242" || res.AuthorizationCode != p.AuthCode || res.AuthorizationCode == "" ||
				res.ConfirmationNumber != p.ConfirmationNumber || res.ErrorCode != "" {
				t.Errorf("%s: result %+v; want approved, 19.99, its order, visa 4242, the payment's codes", tt.typ, res)
			}
			if res.Params.Get("cart") != "7" {
				t.Errorf("the success URL's own parameter: got %q, want 7", res.Params.Get("cart"))
			}
			if p.Status != tt.status || p.Amount != 1999 || p.Description != "A paperback" {
				t.Errorf("%s: payment %s, %d, %q; want %s, 1999, the description", tt.typ, p.Status, p.Amount, p.Description, tt.status)
			}
		}
	})
}

func TestTRDeclined(t *testing.T) {
	e := newTREnv(t, "")
	res := e.result(e.postTR(withCard(e.trFields(), cardDecline)), e.shop.srv.URL+"/no?")
	if res.Approved || res.ErrorCode != paygate.EDECLINED || res.DeclineCode == "" || res.ErrorMessage == "" ||
		res.TransactionID == "" || res.CardLast4 != "0002" || res.ConfirmationNumber != "" || res.AuthorizationCode != "" {
		t.Errorf("result %+v; want declined with its codes and message, the payment, no confirmation", res)
	}
	if p := e.payment(res.TransactionID); p.Status != paygate.StatusDeclined {
		t.Errorf("payment %s, want declined", p.Status)
	}
}

// TestTRInvalid: what is wrong with a form that verified goes to the
// decline URL, the field named, nothing charged.
func TestTRInvalid(t *testing.T) {
	e := newTREnv(t, "")
	for _, tt := range []struct {
		name        string
		form        url.Values
		code, param string
	}{
		{"bad card number", withCard(e.trFields(), "4242424242424241"), paygate.ENUMBER, "card_number"},
		{"no CVC", func() url.Values { f := withCard(e.trFields(), cardOK); f.Del("card_verification"); return f }(), paygate.EMISSING, "card_verification"},
		{"expiration not MMYY", func() url.Values {
			f := withCard(e.trFields(), cardOK)
			f.Set("card_expiration", "12/30")
			return f
		}(), paygate.EEXPIRY, "card_expiration"},
		{"expired card", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("card_expiration", "0120"); return f }(), paygate.EEXPIRED, "card_expiration"},
		{"no amount", withCard(e.trFields("transaction_amount", "", "hash_key", "transaction_type"), cardOK), paygate.EMISSING, "transaction_amount"},
		{"amount with 3 decimals", withCard(e.trFields("transaction_amount", "19.999"), cardOK), paygate.EAMOUNT, "transaction_amount"},
		{"amount 0", withCard(e.trFields("transaction_amount", "0.00"), cardOK), paygate.EAMOUNT, "transaction_amount"},
		{"unknown type", withCard(e.trFields("transaction_type", "REFUND"), cardOK), paygate.EINVALID, "transaction_type"},
		{"other tender", withCard(e.trFields("tender_type", "ACH"), cardOK), paygate.EINVALID, "tender_type"},
		{"unknown field", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("transaction_currency", "EUR"); return f }(), paygate.EINVALID, "transaction_currency"},
		{"expired form", withCard(e.trFields("timestamp", strconv.FormatInt(e.gw.Clock.Now().Add(-31*time.Minute).Unix(), 10)), cardOK), paygate.EINVALID, "timestamp"},
		{"form from the future", withCard(e.trFields("timestamp", strconv.FormatInt(e.gw.Clock.Now().Add(6*time.Minute).Unix(), 10)), cardOK), paygate.EINVALID, "timestamp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.result(e.postTR(tt.form), e.shop.srv.URL+"/no?")
			if res.Approved || res.ErrorCode != tt.code || res.ErrorParam != tt.param || res.ErrorMessage == "" || res.TransactionID != "" {
				t.Errorf("result %+v; want error %s on %s, with a message, no transaction", res, tt.code, tt.param)
			}
		})
	}
	if n := e.payments(); n != 0 {
		t.Errorf("%d payments, want none", n)
	}
}

// TestTRReplay: the same form again, whatever card it carries and however
// late, shows the first result and charges nothing.
func TestTRReplay(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newTREnv(t, pg)
		f := e.trFields()
		first := e.result(e.postTR(withCard(f, cardOK)), e.shop.srv.URL+"/ok?")
		for _, card := range []string{cardOK, cardDecline} {
			again := e.result(e.postTR(withCard(f, card)), e.shop.srv.URL+"/ok?")
			if again.TransactionID != first.TransactionID || !again.Approved || again.ConfirmationNumber != first.ConfirmationNumber {
				t.Errorf("the form again with %s: %+v; want the first result %+v", card, again, first)
			}
		}
		e.gw.Clock.Advance(31 * time.Minute)
		late := e.result(e.postTR(withCard(f, cardOK)), e.shop.srv.URL+"/ok?")
		if late.TransactionID != first.TransactionID || !late.Approved {
			t.Errorf("the form again after its life: %+v; want the first result", late)
		}

		// A declined form is declined again: it pays once, or not at all.
		e.gw.Clock.Advance(-31 * time.Minute)
		d := e.trFields()
		declined := e.result(e.postTR(withCard(d, cardDecline)), e.shop.srv.URL+"/no?")
		again := e.result(e.postTR(withCard(d, cardOK)), e.shop.srv.URL+"/no?")
		if again.TransactionID != declined.TransactionID || again.Approved || again.DeclineCode != declined.DeclineCode {
			t.Errorf("a declined form again with a good card: %+v; want the first result %+v", again, declined)
		}
		// A form refused before paying (a mistyped card) may be sent again.
		m := e.trFields()
		e.result(e.postTR(withCard(m, "4242424242424241")), e.shop.srv.URL+"/no?")
		fixed := e.result(e.postTR(withCard(m, cardOK)), e.shop.srv.URL+"/ok?")
		if !fixed.Approved {
			t.Errorf("a form refused for a mistyped card, sent again with the card fixed: %+v; want approved", fixed)
		}
		if n := e.payments(); n != 3 {
			t.Errorf("%d payments, want 3 (one per form that paid)", n)
		}
	})
}

// TestTRDoubleSubmit: the same form posted many times at once makes one
// payment, and every answer is its result.
func TestTRDoubleSubmit(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newTREnv(t, pg)
		f := withCard(e.trFields(), cardOK)
		const n = 8
		var wg sync.WaitGroup
		results := make([]response, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { results[i], errs[i] = e.postTRErr(f) })
		}
		wg.Wait()
		ids := map[string]int{}
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("submit %d: %v", i, errs[i])
			}
			res := e.result(r, e.shop.srv.URL+"/ok?")
			if !res.Approved {
				t.Errorf("submit %d: %+v, want approved", i, res)
			}
			ids[res.TransactionID]++
		}
		if len(ids) != 1 {
			t.Errorf("%d submits at once answered with transactions %v, want one", n, ids)
		}
		if got := e.payments(); got != 1 {
			t.Errorf("%d submits at once made %d payments, want 1", n, got)
		}
	})
}

// TestTRURLs: the merchant's global URLs serve forms that send none; a
// form's own URLs override them; without any, the gateway's own page.
func TestTRURLs(t *testing.T) {
	e := newTREnv(t, "")
	shop := e.shop.srv.URL
	set := func(success, decline string) {
		t.Helper()
		if _, err := e.g.UpdateSettings(context.Background(), e.merchant.ID, paygate.SettingsUpdate{SuccessURL: &success, DeclineURL: &decline}); err != nil {
			t.Fatal(err)
		}
	}
	set(shop+"/global/ok", shop+"/global/no")
	for _, tt := range []struct {
		name, success, decline, card, want string
	}{
		{"global success", "", "", cardOK, shop + "/global/ok?"},
		{"global decline", "", "", cardDecline, shop + "/global/no?"},
		{"own success overrides", shop + "/mine/ok", "", cardOK, shop + "/mine/ok?"},
		{"own success, global decline", shop + "/mine/ok", "", cardDecline, shop + "/global/no?"},
		{"own decline overrides", "", shop + "/mine/no", cardDecline, shop + "/mine/no?"},
		{"own decline, global success", "", shop + "/mine/no", cardOK, shop + "/global/ok?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := e.trFields("success_url", tt.success, "decline_url", tt.decline)
			e.result(e.postTR(withCard(f, tt.card)), tt.want)
		})
	}

	// Without a decline URL anywhere, a decline goes to the success URL.
	set(shop+"/global/ok", "")
	e.result(e.postTR(withCard(e.trFields("success_url", "", "decline_url", ""), cardDecline)), shop+"/global/ok?")

	// Without any URL, the gateway's own page.
	set("", "")
	r := e.postTR(withCard(e.trFields("success_url", "", "decline_url", ""), cardOK))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Payment successful", "$19.99", "Confirmation number", "Visa ending in 4242", `href="`+shop+`/"`)
	r = e.postTR(withCard(e.trFields("success_url", "", "decline_url", ""), cardDecline))
	wantStatus(t, r, http.StatusPaymentRequired)
	wantBody(t, r, "Payment declined", "Your card was not charged")
	r = e.postTR(withCard(e.trFields("success_url", "", "decline_url", ""), "4242424242424241"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Your payment could not be made", "Card number is incorrect", "Nothing was charged")
}

// TestTRRefused: a form that cannot be trusted gets the gateway's page,
// which says why without showing what the form sent; nothing is charged.
func TestTRRefused(t *testing.T) {
	e := newTREnv(t, "")
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"unknown account", withCard(e.trFields("account_id", "acct_00000000000000000000000000"), cardOK), 403, "We don&#39;t know this shop"},
		{"no hash", func() url.Values { f := withCard(e.trFields(), cardOK); f.Del("hash"); return f }(), 403, "could not be verified"},
		{"tampered amount", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("transaction_amount", "0.01"); return f }(), 403, "could not be verified"},
		{"foreign success URL", withCard(e.trFields("success_url", "https://evil.example/ok"), cardOK), 400, "an address Blue Heron Books has not registered"},
		{"access key in clear", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("api_accesskey", e.key); return f }(), 403, "Security Violation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postTR(tt.form)
			wantStatus(t, r, tt.status)
			wantBody(t, r, tt.says, "Nothing was charged")
			wantNoBody(t, r, e.key, "<script")
			if h := tt.form.Get("hash"); h != "" {
				wantNoBody(t, r, h)
			}
			if r.Header.Get("Location") != "" {
				t.Errorf("a refused form is sent on to %s", r.Header.Get("Location"))
			}
		})
	}
	if n := e.payments(); n != 0 {
		t.Errorf("%d payments, want none", n)
	}
	list := e.events.events()
	if len(list) != 1 || list[0].Type != paygate.EventSecurityViolation || list[0].MerchantID != e.merchant.ID ||
		!strings.Contains(string(list[0].Data), "api_accesskey sent in the form") {
		t.Errorf("events recorded: %v; want one security violation for the merchant", list)
	}
	if logs := string(e.gw.Logs.Bytes()); strings.Contains(logs, e.key) || !strings.Contains(logs, "security violation") {
		t.Errorf("the logs hold the access key, or do not tell of the violation:\n%s", logs)
	}
}

// TestTRNotSetUp: a merchant without a signing secret cannot be sent a
// result it could trust: the form is refused, nothing charged.
func TestTRNotSetUp(t *testing.T) {
	e := newTREnv(t, "")
	gatewaytest.MustCreateMerchant(t, e.gw, "No Secret")
	all, err := e.g.Merchants.Merchants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bare := all[len(all)-1]
	_, key, err := e.g.RotateAccessKey(context.Background(), bare)
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.TransparentRedirectFields(client.TRParams{AccountID: bare.ID, Amount: 500}, key, e.gw.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := e.postTR(withCard(f, cardOK))
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "cannot take this payment yet", "no signing secret")
	if list, _, _ := e.g.Payments.Payments(context.Background(), paygate.PaymentFilter{MerchantID: bare.ID, Limit: 10}); len(list) != 0 {
		t.Errorf("%d payments, want none", len(list))
	}
}

// TestTRMethods: /tr takes a POST only; a GET carrying card data is
// refused as every page refuses it.
func TestTRMethods(t *testing.T) {
	e := newTREnv(t, "")
	r := e.get("/tr")
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if got := r.Header.Get("Allow"); got != "POST" {
		t.Errorf("Allow: got %q, want POST", got)
	}
	q := withCard(e.trFields(), cardOK)
	r = e.get("/tr?" + q.Encode())
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Card details don&#39;t belong in a web address")
	r = e.get("/tr?card_verification=" + testCVC)
	wantStatus(t, r, http.StatusBadRequest)
	if n := e.payments(); n != 0 {
		t.Errorf("%d payments, want none", n)
	}
}

// TestTRMalformed: whatever a form holds, the answer is a page or a
// redirect, never a 500, and nothing is charged for a form that cannot be
// read.
func TestTRMalformed(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newTREnv(t, pg)
		for _, tt := range []struct {
			name   string
			form   url.Values
			status int
		}{
			{"account not UTF-8", withCard(e.trFields("account_id", "acct_\xff"), cardOK), 400},
			{"order not UTF-8, unhashed", func() url.Values {
				f := withCard(e.trFields(), cardOK)
				f.Set("order_id", "\xffx")
				return f
			}(), 400},
			{"name not UTF-8", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("first_name", "\xc3"); return f }(), 400},
			{"NUL in a field name", func() url.Values { f := withCard(e.trFields(), cardOK); f.Set("x\x00", "1"); return f }(), 400},
			{"a very long account", withCard(e.trFields("account_id", strings.Repeat("a", 30000)), cardOK), 403},
			{"empty form", url.Values{}, 400},
			{"only a hash", url.Values{"hash": {"00"}}, 403},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := e.postTR(tt.form)
				wantStatus(t, r, tt.status)
				wantBody(t, r, "Nothing was charged")
			})
		}
		if n := e.payments(); n != 0 {
			t.Errorf("%d payments, want none", n)
		}
	})
}
