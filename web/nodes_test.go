package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestPageAcrossNodes: the pages as the node wires them, on two nodes of
// one database: a session started on one node shows on the other, whose
// form (and its CSRF token) is posted to the first; the result is signed
// for the merchant either way, and a second submit on the other node pays
// nothing more.
func TestPageAcrossNodes(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg})
		a, b := nodes[0], nodes[1]
		shop := "http://127.0.0.1:9"
		ca := a.Client()
		if _, err := ca.UpdateSettings(t.Context(), client.SettingsUpdate{AllowedOrigins: &[]string{shop},
			SuccessURL: ptr(shop + "/paid")}); err != nil {
			t.Fatal(err)
		}
		secret, err := ca.RotateSigningSecret(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ca.StartSession(t.Context(), client.SessionParams{Amount: 4200, Currency: "EUR", OrderID: "n-1"})
		if err != nil {
			t.Fatal(err)
		}
		noRedirect := &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(base string) string {
			resp, err := noRedirect.Get(base + "/pay/" + s.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("GET the page on %s: %d", base, resp.StatusCode)
			}
			return string(body)
		}
		post := func(base string, form url.Values) *http.Response {
			req, _ := http.NewRequest("POST", base+"/pay/"+s.ID, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		form := fillForm(t, get(b.URL()), cardOK, testCVC)
		resp := post(a.URL(), form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("pay on the other node: got %d, want 303", resp.StatusCode)
		}
		res, err := client.VerifyQuery(mustParse(t, resp.Header.Get("Location")).Query(), a.Clock.Now(), secret)
		if err != nil || res.Outcome != client.OutcomeApproved || res.Sequence != 1 || res.OrderID != "n-1" {
			t.Fatalf("result: %+v, %v", res, err)
		}
		// The same form again, on the node it came from: the same result, no payment.
		resp = post(b.URL(), form)
		again, err := client.VerifyQuery(mustParse(t, resp.Header.Get("Location")).Query(), b.Clock.Now(), secret)
		if err != nil || again.PaymentID != res.PaymentID || again.Sequence != res.Sequence {
			t.Errorf("second submit on the other node: %+v, %v; want payment %s again", again, err, res.PaymentID)
		}
		list, _, err := a.Payments.Payments(t.Context(), paygate.PaymentFilter{MerchantID: a.Merchant.ID, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Errorf("payments: %d, %v; want 1", len(list), err)
		}
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
