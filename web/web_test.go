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
	"github.com/paygate/paygate/internal/gatewaytest"
)

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
}

func wantBody(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("%s %s: page lacks %q:\n%s", r.Request.Method, r.Request.URL.Path, p, r.body)
		}
	}
}

func wantNoBody(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(r.body, p) {
			t.Errorf("%s %s: page holds %q:\n%s", r.Request.Method, r.Request.URL.Path, p, r.body)
		}
	}
}

func TestApproveRedirect(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		s := e.start("")
		page := e.get("/pay/" + s.ID)
		wantStatus(t, page, 200)
		wantBody(t, page, "Blue Heron Books", "$12.50", "USD", "order-1001", "Two paperbacks", "Pay $12.50",
			`autocomplete="cc-number"`, `autocomplete="cc-exp-month"`, `autocomplete="cc-exp-year"`, `autocomplete="cc-csc"`,
			`autocomplete="cc-name"`, `inputmode="numeric"`, `<label for="cc-number">`, "Cancel and return to Blue Heron Books",
			`src="`+e.shop.srv.URL+`/logo.png"`)
		wantNoBody(t, page, "<script")

		r := e.post("/pay/"+s.ID, fillForm(t, page.body, cardOK, testCVC))
		wantStatus(t, r, http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, e.shop.srv.URL+"/paid?") {
			t.Fatalf("Location: got %s, want the return URL %s/paid with the result", loc, e.shop.srv.URL)
		}
		q := e.verify(loc)
		got := e.session(s.ID)
		for k, want := range map[string]string{"result": "approved", "session_id": s.ID, "amount": "1250", "currency": "USD",
			"order_id": "order-1001", "sequence": "1", "card_last4": "4242", "card_brand": "visa", "payment_id": got.PaymentID} {
			if q.Get(k) != want {
				t.Errorf("result %s: got %q, want %q", k, q.Get(k), want)
			}
		}
		if q.Get("confirmation_number") == "" {
			t.Error("result: no confirmation_number")
		}
		if strings.Contains(loc, testCVC+"&") || strings.Contains(loc, cardOK) {
			t.Errorf("the result URL holds card data: %s", loc)
		}

		// The page now shows the receipt, with the confirmation number.
		for _, path := range []string{"/pay/" + s.ID, "/pay/" + s.ID + "/receipt"} {
			r := e.get(path)
			wantStatus(t, r, 200)
			wantBody(t, r, "Payment successful", q.Get("confirmation_number"), "Visa ending in 4242", "$12.50",
				`href="/pay/`+s.ID+`/continue"`)
			wantNoBody(t, r, "csrf_token")
		}
		// ... from which the customer may go back to the merchant again.
		r = e.get("/pay/" + s.ID + "/continue")
		wantStatus(t, r, http.StatusSeeOther)
		if q2 := e.verify(r.Header.Get("Location")); q2.Get("confirmation_number") != q.Get("confirmation_number") {
			t.Errorf("continue: got confirmation %q, want %q", q2.Get("confirmation_number"), q.Get("confirmation_number"))
		}
		if n := e.payments(); n != 1 {
			t.Errorf("got %d payments, want 1", n)
		}
	})
}

func TestDeclineThenRetry(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	form := e.cardForm(s.ID, cardDecline, testCVC)
	form.Set("name", "Ada Lovelace")
	form.Set("exp_month", "07")
	r := e.afterDecline(e.post("/pay/"+s.ID, form), s.ID)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Your card was declined", "Your card was not charged", "2 tries left", `value="Ada Lovelace"`,
		`value="07"`, `value="`+form.Get("exp_year")+`"`, `name="attempt" value="1"`)
	wantNoBody(t, r, `name="number" value`, `name="cvc" value`)

	// The refreshed page shows the same decline, with the form.
	page := e.get("/pay/" + s.ID)
	wantStatus(t, page, 200)
	wantBody(t, page, "Your card was declined", "2 tries left")

	r = e.post("/pay/"+s.ID, fillForm(t, r.body, cardOK, testCVC))
	wantStatus(t, r, http.StatusSeeOther)
	q := e.verify(r.Header.Get("Location"))
	if q.Get("result") != "approved" || q.Get("sequence") != "2" {
		t.Errorf("result: got %s sequence %s, want approved sequence 2", q.Get("result"), q.Get("sequence"))
	}
}

func TestThreeDeclinesEndTheSession(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		s := e.start("")
		page := e.get("/pay/" + s.ID).body
		for i := 1; i <= paygate.MaxSessionDeclines; i++ {
			r := e.post("/pay/"+s.ID, fillForm(t, page, cardDecline, testCVC))
			if i < paygate.MaxSessionDeclines {
				r = e.afterDecline(r, s.ID)
				wantStatus(t, r, http.StatusOK)
				left := paygate.MaxSessionDeclines - i
				if left == 1 {
					wantBody(t, r, "You can try once more")
				} else {
					wantBody(t, r, strconv.Itoa(left)+" tries left")
				}
				page = r.body
				continue
			}
			wantStatus(t, r, http.StatusSeeOther)
			loc := r.Header.Get("Location")
			if !strings.HasPrefix(loc, e.shop.srv.URL+"/declined?") {
				t.Fatalf("Location: got %s, want the decline URL", loc)
			}
			q := e.verify(loc)
			if q.Get("result") != "declined" || q.Get("decline_code") != "do_not_honor" || q.Get("sequence") != "3" {
				t.Errorf("result: got %v", q)
			}
		}
		r := e.get("/pay/" + s.ID)
		wantStatus(t, r, 200)
		wantBody(t, r, "Payment declined", "declined 3 times", "Your card was not charged")
		wantNoBody(t, r, "csrf_token")
		// A fourth try is not made.
		r = e.post("/pay/"+s.ID, fillForm(t, page, cardOK, testCVC))
		wantStatus(t, r, http.StatusSeeOther)
		if q := e.verify(r.Header.Get("Location")); q.Get("result") != "declined" {
			t.Errorf("a submit after the end: got result %s, want declined", q.Get("result"))
		}
		if n := e.payments(); n != 3 {
			t.Errorf("got %d payments, want 3", n)
		}
	})
}

func TestInvalidCardNamesTheField(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	year := strconv.Itoa(time.Now().Year() + 3)
	for _, tc := range []struct {
		name         string
		number, cvc  string
		month, year  string
		field, errID string
		message      string
		keepMonth    bool
	}{
		{"Luhn", "4242424242424241", testCVC, "12", year, "number", "cc-number-error", "Card number is incorrect.", true},
		{"short", "4242 4242", testCVC, "12", year, "number", "cc-number-error", "Card number must be 12 to 19 digits long.", true},
		{"no number", "", testCVC, "12", year, "number", "cc-number-error", "Card number is required.", true},
		{"month", cardOK, testCVC, "13", year, "exp_month", "cc-exp-error", "Expiry month must be between 1 and 12.", true},
		{"expired", cardOK, testCVC, "01", "2001", "exp_year", "cc-exp-error", "The card has expired.", true},
		{"cvc short", cardOK, "73", "12", year, "cvc", "cc-csc-error", "Card security code must be 3 digits for this card.", true},
		{"cvc missing", cardOK, "", "12", year, "cvc", "cc-csc-error", "Card security code is required.", true},
		{"month holds the number", cardOK, testCVC, cardOK, year, "exp_month", "cc-exp-error", "Expiry month must be between 1 and 12.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := e.cardForm(s.ID, tc.number, tc.cvc)
			form.Set("exp_month", tc.month)
			form.Set("exp_year", tc.year)
			r := e.post("/pay/"+s.ID, form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="`+tc.errID+`">`+htmlEscape(tc.message)+"</p>", `aria-invalid="true"`, `value="Ada Lovelace"`)
			if tc.keepMonth {
				wantBody(t, r, `value="`+tc.month+`"`)
			}
			wantNoBody(t, r, `name="number" value`, `name="cvc" value`, "tries left")
		})
	}
	if got := e.session(s.ID); got.Attempts != 0 {
		t.Errorf("got %d attempts, want 0: a mistyped card uses none", got.Attempts)
	}
	if n := e.payments(); n != 0 {
		t.Errorf("got %d payments, want 0", n)
	}
}

func htmlEscape(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

func TestNameHoldingACardNumberIsNotShownBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	form := e.cardForm(s.ID, cardOK, testCVC)
	form.Set("name", "4242 4242 4242 4242")
	r := e.post("/pay/"+s.ID, form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantBody(t, r, `id="cc-name-error"`)
	wantNoBody(t, r, "4242 4242")
}

func TestDoubleSubmitMakesOnePayment(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		s := e.start("")
		form := e.cardForm(s.ID, cardOK, testCVC)
		var wg sync.WaitGroup
		results := make([]response, 4)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() { results[i], errs[i] = e.doErr(e.postRequest("/pay/"+s.ID, form)) })
		}
		wg.Wait()
		for i, r := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch r.StatusCode {
			case http.StatusSeeOther:
				if q := e.verify(r.Header.Get("Location")); q.Get("result") != "approved" {
					t.Errorf("got result %s, want approved", q.Get("result"))
				}
			case http.StatusOK:
				wantBody(t, r, "Your payment is being processed", `<meta http-equiv="refresh" content="2; url=/pay/`+s.ID+`/continue">`)
			default:
				t.Errorf("a submit: got %d, want 303 or the processing page:\n%s", r.StatusCode, r.body)
			}
		}
		// Refresh (the same form once more) and the back button.
		r := e.post("/pay/"+s.ID, form)
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.session(s.ID); got.Attempts != 1 || got.Outcome != paygate.OutcomeApproved {
			t.Errorf("session: got %d attempts, outcome %q; want 1, approved", got.Attempts, got.Outcome)
		}
		if n := e.payments(); n != 1 {
			t.Errorf("got %d payments, want 1", n)
		}
	})
}

func TestResubmittedDeclineIsNotPaidAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	form := e.cardForm(s.ID, cardDecline, testCVC)
	e.afterDecline(e.post("/pay/"+s.ID, form), s.ID)
	// A browser that posts the same form again (its back button, then
	// resubmit).
	r := e.post("/pay/"+s.ID, form)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/pay/"+s.ID {
		t.Errorf("Location: got %s, want /pay/%s", loc, s.ID)
	}
	if got := e.session(s.ID); got.Attempts != 1 {
		t.Errorf("got %d attempts, want 1", got.Attempts)
	}
}

func TestProcessingPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	form := e.cardForm(s.ID, cardOK, testCVC)
	// Another submit holds the session.
	paying := e.session(s.ID)
	paying.Paying, paying.PayingSince, paying.Attempts = true, time.Now(), 1
	if err := e.g.Sessions.UpdateSession(context.Background(), paying); err != nil {
		t.Fatal(err)
	}
	for _, r := range []response{e.get("/pay/" + s.ID), e.post("/pay/"+s.ID, form), e.get("/pay/" + s.ID + "/continue"),
		e.post("/pay/"+s.ID+"/cancel", url.Values{"csrf_token": form["csrf_token"]})} {
		wantStatus(t, r, 200)
		wantBody(t, r, "Your payment is being processed", `<meta http-equiv="refresh" content="2; url=/pay/`+s.ID+`/continue">`)
		wantNoBody(t, r, "<form")
	}
	if n := e.payments(); n != 0 {
		t.Errorf("got %d payments, want 0", n)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	other := e.start("")
	good := e.cardForm(s.ID, cardOK, testCVC)
	foreign := e.cardForm(other.ID, cardOK, testCVC) // a token, but another session's
	for _, tc := range []struct {
		name    string
		path    string
		token   []string
		headers map[string]string
	}{
		{"pay without token", "/pay/" + s.ID, nil, nil},
		{"pay bad token", "/pay/" + s.ID, []string{"AAAA"}, nil},
		{"pay other session's token", "/pay/" + s.ID, foreign["csrf_token"], nil},
		{"cancel without token", "/pay/" + s.ID + "/cancel", nil, nil},
		{"cancel other session's token", "/pay/" + s.ID + "/cancel", foreign["csrf_token"], nil},
		{"pay cross-site", "/pay/" + s.ID, good["csrf_token"], map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"cancel cross-site", "/pay/" + s.ID + "/cancel", good["csrf_token"], map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"pay foreign origin", "/pay/" + s.ID, good["csrf_token"], map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Del("csrf_token")
			if tc.token != nil {
				form["csrf_token"] = tc.token
			}
			r := e.postWith(tc.path, form, tc.headers)
			wantStatus(t, r, http.StatusForbidden)
			wantBody(t, r, "This request was refused", "Nothing was charged")
			checkHeaders(t, r, "")
		})
	}
	if got := e.session(s.ID); got.Attempts != 0 || got.Status != paygate.SessionOpen {
		t.Errorf("session: got %d attempts, status %s; want 0, open", got.Attempts, got.Status)
	}
}

func TestClosedSessions(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		expired := e.start("")
		form := e.cardForm(expired.ID, cardOK, testCVC)
		canceled := e.start("")
		cancelForm := e.cardForm(canceled.ID, cardOK, testCVC)
		r := e.post("/pay/"+canceled.ID+"/cancel", url.Values{"csrf_token": cancelForm["csrf_token"]})
		wantStatus(t, r, http.StatusSeeOther)
		e.gw.Clock.Advance(paygate.DefaultSessionLifetime + time.Minute)

		for _, tc := range []struct {
			name   string
			path   string
			status int
			text   []string
		}{
			{"unknown", "/pay/cs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 404, []string{"Payment page not found", "Nothing was charged"}},
			{"malformed", "/pay/cs_x'<", 404, []string{"Payment page not found"}},
			{"unknown receipt", "/pay/cs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/receipt", 404, []string{"Payment page not found"}},
			{"deeper", "/pay/" + expired.ID + "/x/y", 404, []string{"Payment page not found"}},
			{"expired", "/pay/" + expired.ID, 410, []string{"This payment page has expired", "Nothing was charged",
				`href="` + e.shop.srv.URL + `/"`, "Return to Blue Heron Books"}},
			{"expired receipt", "/pay/" + expired.ID + "/receipt", 410, []string{"This payment page has expired"}},
			{"canceled", "/pay/" + canceled.ID, 410, []string{"This payment was canceled", "Nothing was charged", `href="` + e.shop.srv.URL + `/"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(tc.path)
				wantStatus(t, r, tc.status)
				wantBody(t, r, tc.text...)
				wantNoBody(t, r, "csrf_token", "<form")
				if tc.status == 404 {
					checkHeaders(t, r, "")
				} else {
					checkHeaders(t, r, e.shop.srv.URL)
				}
			})
		}
		// Paying an expired session sends the browser to its page.
		r = e.post("/pay/"+expired.ID, form)
		wantStatus(t, r, http.StatusSeeOther)
		if n := e.payments(); n != 0 {
			t.Errorf("got %d payments, want 0", n)
		}
	})
}

func TestCancel(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		s := e.start("")
		form := e.cardForm(s.ID, cardOK, testCVC)
		r := e.post("/pay/"+s.ID+"/cancel", url.Values{"csrf_token": form["csrf_token"]})
		wantStatus(t, r, http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, e.shop.srv.URL+"/canceled?") {
			t.Fatalf("Location: got %s, want the cancel URL", loc)
		}
		if q := e.verify(loc); q.Get("result") != "canceled" || q.Get("session_id") != s.ID {
			t.Errorf("result: got %v", q)
		}
		// Paying after canceling pays nothing.
		r = e.post("/pay/"+s.ID, form)
		wantStatus(t, r, http.StatusSeeOther)
		wantStatus(t, e.get(r.Header.Get("Location")), http.StatusGone)
		if n := e.payments(); n != 0 {
			t.Errorf("got %d payments, want 0", n)
		}
	})
}

func TestProxyRelaysTheMerchantsPage(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg, model: paygate.ModelProxy})
		s := e.start("")
		r := e.afterProxy(e.post("/pay/"+s.ID, e.cardForm(s.ID, cardOK, testCVC)), s.ID)
		wantStatus(t, r, 200)
		if csp := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox allow-forms allow-popups allow-popups-to-escape-sandbox;") ||
			strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
			t.Errorf("relayed page's policy: got %q", csp)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type: got %q", ct)
		}
		wantBody(t, r, `<HEAD><base href="`+e.shop.srv.URL+`/paid"><title>Blue Heron Books</title>`, "Thank you: approved")
		hits := e.shop.requests()
		if len(hits) != 1 || hits[0].Path != "/paid" {
			t.Fatalf("the shop got %v, want one GET /paid", hits)
		}
		if q := e.verify(e.shop.srv.URL + hits[0].String()); q.Get("result") != "approved" {
			t.Errorf("the shop's result: got %v", q)
		}
		for _, h := range []string{"Referrer-Policy", "Cache-Control", "X-Content-Type-Options"} {
			if r.Header.Get(h) == "" {
				t.Errorf("relayed page: no %s", h)
			}
		}
		// Delivered once: a refresh shows the gateway's receipt and does
		// not call the shop again.
		again := e.get("/pay/" + s.ID + "/continue")
		wantBody(t, again, "Payment successful")
		if hits := e.shop.requests(); len(hits) != 1 {
			t.Errorf("after a refresh the shop got %d requests, want still 1", len(hits))
		}
	})
}

func TestProxyMerchantDown(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg, model: paygate.ModelProxy})
		e.shop.setStatus(http.StatusBadGateway)
		s := e.start("")
		r := e.afterProxy(e.post("/pay/"+s.ID, e.cardForm(s.ID, cardOK, testCVC)), s.ID)
		wantStatus(t, r, 200)
		p, err := e.g.Payments.Payment(context.Background(), e.merchant.ID, e.session(s.ID).PaymentID)
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, r, "Payment successful", p.ConfirmationNumber, "We could not reach Blue Heron Books", `href="`+e.shop.srv.URL+`/"`)
		checkHeaders(t, r, e.shop.srv.URL)
		d, err := e.g.Deliveries.SessionDelivery(context.Background(), s.ID)
		if err != nil {
			t.Fatalf("no delivery queued: %v", err)
		}
		if d.Status != paygate.DeliveryPending {
			t.Errorf("delivery: got %s, want pending", d.Status)
		}
		// The receipt says so too.
		r = e.get("/pay/" + s.ID + "/receipt")
		wantStatus(t, r, 200)
		wantBody(t, r, p.ConfirmationNumber, "We could not reach Blue Heron Books")
	})
}

func TestProxyCancel(t *testing.T) {
	e := newEnv(t, envOptions{model: paygate.ModelProxy})
	s := e.start("")
	form := e.cardForm(s.ID, cardOK, testCVC)
	r := e.afterProxy(e.post("/pay/"+s.ID+"/cancel", url.Values{"csrf_token": form["csrf_token"]}), s.ID)
	wantStatus(t, r, 200)
	wantBody(t, r, "Thank you: canceled", `<base href="`+e.shop.srv.URL+`/canceled">`)
}

func TestSignedForm(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		origin := e.shop.srv.URL
		fields := func() url.Values {
			return url.Values{"merchant_id": {e.merchant.ID}, "amount": {"4200"}, "currency": {"EUR"},
				"order_id": {"A-77"}, "return_url": {origin + "/paid"}, "description": {"A heron print"}}
		}
		good := e.signForm(fields(), e.gw.Clock.Now())

		// POST and GET both open a session (the same one for the same form).
		before := e.sessions.count()
		r := e.postWith("/pay", good, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": origin})
		wantStatus(t, r, http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, "/pay/cs_") {
			t.Fatalf("Location: got %q, want /pay/cs_...", loc)
		}
		page := e.get(loc)
		wantStatus(t, page, 200)
		wantBody(t, page, "€42.00", "EUR", "A-77", "A heron print")
		r = e.get("/pay?" + good.Encode())
		wantStatus(t, r, http.StatusSeeOther)
		if r.Header.Get("Location") != loc {
			t.Errorf("the same form by GET: got %s, want %s", r.Header.Get("Location"), loc)
		}
		if n := e.sessions.count() - before; n != 1 {
			t.Errorf("got %d sessions, want 1", n)
		}

		tampered := e.signForm(fields(), e.gw.Clock.Now())
		tampered.Set("amount", "1")
		unknown := fields()
		unknown.Set("merchant_id", "mer_nobody")
		unknown = e.signForm(unknown, e.gw.Clock.Now())
		foreign := fields()
		foreign.Set("return_url", "https://evil.example/steal")
		foreign = e.signForm(foreign, e.gw.Clock.Now())
		missing := fields()
		missing.Del("currency")
		missing = e.signForm(missing, e.gw.Clock.Now())
		cardField := fields()
		cardField.Set("card", "x")
		cardField = e.signForm(cardField, e.gw.Clock.Now())
		lineBreak := fields()
		lineBreak.Set("description", "A heron print\r\nframed")
		lineBreak = e.signForm(lineBreak, e.gw.Clock.Now())

		before = e.sessions.count()
		for _, tc := range []struct {
			name    string
			form    url.Values
			heading string
			detail  string
			back    bool
		}{
			{"tampered amount", tampered, "This payment request could not be verified", "signature does not match", true},
			{"old timestamp", e.signForm(fields(), e.gw.Clock.Now().Add(-paygate.FormLifetime-time.Minute)),
				"This payment link has expired", "more than 30m0s old", true},
			{"future timestamp", e.signForm(fields(), e.gw.Clock.Now().Add(time.Hour)), "This payment request is not valid", "in the future", true},
			{"foreign return URL", foreign, "This payment request is not valid", "not one of the allowed origins", true},
			{"unknown merchant", unknown, "We don&#39;t know this shop", "a merchant this gateway does not know", false},
			{"missing field", missing, "This payment request is not valid", "no &#34;currency&#34; field", false},
			{"unknown field", cardField, "This payment request is not valid", "unknown field", false},
			{"line break", lineBreak, "This payment request is not valid",
				"must be a single line: browsers rewrite line breaks, which would break the signature", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.postWith("/pay", tc.form, map[string]string{"Sec-Fetch-Site": "cross-site"})
				wantStatus(t, r, http.StatusBadRequest)
				wantBody(t, r, tc.heading, "Nothing was charged", "Details for the shop's developer", tc.detail)
				if tc.back {
					wantBody(t, r, `href="`+origin+`/"`)
				}
				wantNoBody(t, r, "evil.example/steal\"")
				r = e.get("/pay?" + tc.form.Encode())
				wantStatus(t, r, http.StatusBadRequest)
				if tc.back {
					checkHeaders(t, r, origin)
				} else {
					checkHeaders(t, r, "")
				}
			})
		}
		if n := e.sessions.count() - before; n != 0 {
			t.Errorf("bad forms opened %d sessions, want 0", n)
		}
		wantStatus(t, e.get("/pay"), http.StatusNotFound)
	})
}

func TestCardDataInURLIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	for _, q := range []string{"number=" + cardOK + "&cvc=" + testCVC, "cvc=" + testCVC, "q=4242-4242-4242-4242", "card%5Bnumber%5D=1"} {
		for _, path := range []string{"/pay/" + s.ID, "/pay", "/pay/" + s.ID + "/receipt"} {
			r := e.get(path + "?" + q)
			wantStatus(t, r, http.StatusBadRequest)
			wantBody(t, r, "Card details don&#39;t belong in a web address", "Nothing was charged")
		}
	}
	if n := e.payments(); n != 0 {
		t.Errorf("got %d payments, want 0", n)
	}
}

func TestMethods(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.start("")
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/pay/" + s.ID, "GET, POST"},
		{"GET", "/pay/" + s.ID + "/cancel", "POST"},
		{"DELETE", "/pay", "GET, POST"},
		{"POST", "/pay/" + s.ID + "/receipt", "GET"},
	} {
		req, _ := http.NewRequest(tc.method, e.gw.URL()+tc.path, nil)
		r := e.do(req)
		wantStatus(t, r, http.StatusMethodNotAllowed)
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow: got %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		wantBody(t, r, "<!doctype html>")
	}
}
