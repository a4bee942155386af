package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// asUser is a signed-in dashboard user of a test gateway, over HTTP.
type asUser struct {
	t      *testing.T
	d      *web.Dashboard
	base   string
	cookie *http.Cookie
}

func signInAs(t *testing.T, gw *gatewaytest.Gateway, role paygate.Role) *asUser {
	t.Helper()
	u, err := paygate.NewUser(gw.Merchant.ID, string(role)+"-"+paygate.RandomDigits(6)+"@example.com", role, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP"
	d := gw.Node.Dashboard
	return &asUser{t: t, d: d, base: gw.URL(), cookie: web.SignInForTest(d, u, gw.Merchant)}
}

func (a *asUser) get(path string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	return a.do(req)
}

// post sends form with the session's CSRF token.
func (a *asUser) post(path string, form url.Values) (int, string) {
	a.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", web.DashboardCSRFForTest(a.d, a.cookie))
	req, _ := http.NewRequest("POST", a.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

func (a *asUser) do(req *http.Request) (int, string) {
	a.t.Helper()
	req.AddCookie(a.cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func settingsForm(success string) url.Values {
	return url.Values{"display_name": {"Blue Heron"}, "allowed_origins": {"https://shop.example.com"},
		"success_url": {success}, "default_model": {"redirect"}, "ack_window": {"600"},
		"time_zone": {"UTC"}, "cutoff": {paygate.DefaultCutoff}}
}

// The Settings pages over HTTP on the test engine: who may see them, a
// settings change in the audit log (old → new), keys made with a name and
// shown once, revoked after a confirmation; secrets rotated and shown
// once; a webhook endpoint's delivery log and a redelivery.
func TestSettingsPages(t *testing.T) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: gatewaytest.PostgresIfSet(t)})
	ctx := context.Background()
	admin := signInAs(t, gw, paygate.RoleAdmin)
	for _, role := range []paygate.Role{paygate.RoleOperator, paygate.RoleViewer} {
		u := signInAs(t, gw, role)
		for _, path := range []string{"/dashboard/settings", "/dashboard/settings/keys", "/dashboard/settings/webhooks"} {
			if code, _ := u.get(path); code != http.StatusForbidden {
				t.Errorf("%s GET %s: got %d, want 403", role, path, code)
			}
		}
		if code, _ := u.post("/dashboard/settings/keys", url.Values{"name": {"sneaky"}}); code != http.StatusForbidden {
			t.Errorf("%s creates a key: got %d, want 403", role, code)
		}
		if code, _ := u.post("/dashboard/settings", settingsForm("https://shop.example.com/x")); code != http.StatusForbidden {
			t.Errorf("%s saves settings: got %d, want 403", role, code)
		}
		if _, body := u.get("/dashboard/"); strings.Contains(body, `href="/dashboard/settings"`) {
			t.Errorf("%s's navigation links to Settings", role)
		}
	}

	// Settings: a bad URL changes nothing; a good one is saved and audited.
	code, body := admin.get("/dashboard/settings")
	if code != 200 || !strings.Contains(body, `id="success_url"`) || !strings.Contains(body, "Blended") {
		t.Fatalf("settings page: %d\n%s\n%s", code, body, gw.Logs.Bytes())
	}
	code, body = admin.post("/dashboard/settings", settingsForm("https://evil.example.net/paid"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "not one of the allowed origins") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("settings with a URL off the origins: %d\n%s", code, body)
	}
	bad := settingsForm("https://shop.example.com/paid")
	bad.Set("display_name", "Call 4242 4242 4242 4242")
	if code, body = admin.post("/dashboard/settings", bad); code != 422 || strings.Contains(body, "4242 4242 4242 4242") {
		t.Errorf("a display name with a card number: %d (shown again: %v)", code, strings.Contains(body, "4242 4242 4242 4242"))
	}
	if m, _ := gw.Merchants.Merchant(ctx, gw.Merchant.ID); m.SuccessURL != "" || len(m.AllowedOrigins) != 0 {
		t.Errorf("a refused form changed the merchant: %q %v", m.SuccessURL, m.AllowedOrigins)
	}
	if code, _ = admin.post("/dashboard/settings", settingsForm("https://shop.example.com/paid")); code != http.StatusSeeOther {
		t.Fatalf("save settings: %d", code)
	}
	m, _ := gw.Merchants.Merchant(ctx, gw.Merchant.ID)
	if m.SuccessURL != "https://shop.example.com/paid" || m.DisplayName != "Blue Heron" || m.AckWindow != 0 || m.TimeZone != "" || m.Cutoff != "" {
		t.Errorf("saved merchant: %+v", m)
	}
	if code, _ = admin.post("/dashboard/settings", settingsForm("https://shop.example.com/thanks")); code != http.StatusSeeOther {
		t.Fatalf("save settings again: %d", code)
	}
	entries, _ := gw.Audit.AuditLog(ctx, gw.Merchant.ID, paygate.AuditFilter{Action: "settings.update"})
	if len(entries) != 2 || entries[0].Detail != "success_url: https://shop.example.com/paid → https://shop.example.com/thanks" ||
		!strings.Contains(entries[1].Detail, "success_url: (none) → https://shop.example.com/paid") || entries[0].ActorType != paygate.ActorUser {
		t.Errorf("settings audit entries: %+v", entries)
	}
	if _, body = admin.get("/dashboard/settings?done=saved"); !strings.Contains(body, "Settings saved") || !strings.Contains(body, "(none)</td>") {
		t.Errorf("settings page after saving lacks the notice or the URL history:\n%s", body)
	}

	// API keys: made with a name, the secret shown once, and it works.
	code, body = admin.post("/dashboard/settings/keys", url.Values{"name": {"Checkout server"}})
	secret := regexp.MustCompile(`sk_[A-Za-z0-9_-]{20,}`).FindString(body)
	if code != 200 || secret == "" || !strings.Contains(body, "shown only this once") {
		t.Fatalf("create key: %d\n%s", code, body)
	}
	req, _ := http.NewRequest("GET", gw.URL()+"/v1/settings", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the new key on the API: %v %v", resp, err)
	}
	resp.Body.Close()
	_, body = admin.get("/dashboard/settings/keys")
	if strings.Contains(body, secret) || !strings.Contains(body, "Checkout server") || !strings.Contains(body, secret[:7]+"…") {
		t.Errorf("keys page (shows the secret: %v):\n%s", strings.Contains(body, secret), body)
	}
	keys, _ := gw.Merchants.APIKeys(ctx, gw.Merchant.ID)
	k := keys[len(keys)-1]
	if k.Name != "Checkout server" {
		t.Fatalf("newest key: %+v", k)
	}
	if code, body = admin.post("/dashboard/settings/keys", url.Values{"name": {"card 4242424242424242"}}); code != 422 || strings.Contains(body, "4242424242424242") {
		t.Errorf("a key named with a card number: %d", code)
	}
	if code, body = admin.get("/dashboard/settings/keys/" + k.ID + "/revoke"); code != 200 || !strings.Contains(body, "Revoke this API key?") {
		t.Errorf("revoke confirmation: %d\n%s", code, body)
	}
	if code, _ = admin.post("/dashboard/settings/keys/"+k.ID+"/revoke", nil); code != http.StatusSeeOther {
		t.Errorf("revoke: %d", code)
	}
	if got, _ := gw.Gateway.APIKey(ctx, gw.Merchant.ID, k.ID); got == nil || !got.Revoked() {
		t.Errorf("key after revoke: %+v", got)
	}
	if code, _ = admin.post("/dashboard/settings/keys/key_nosuch/revoke", nil); code != 404 {
		t.Errorf("revoke an unknown key: %d", code)
	}

	// The signing secret and the access key: shown once, listed by id.
	for _, what := range []string{"signing-secret", "api-accesskey"} {
		if code, body = admin.get("/dashboard/settings/rotate/" + what); code != 200 || !strings.Contains(body, "24 hours") {
			t.Errorf("rotate %s confirmation: %d\n%s", what, code, body)
		}
		code, body = admin.post("/dashboard/settings/rotate/"+what, nil)
		shown := regexp.MustCompile(`<p class="secret" id="new-secret">([^<]+)</p>`).FindStringSubmatch(body)
		if code != 200 || shown == nil {
			t.Fatalf("rotate %s: %d\n%s", what, code, body)
		}
		if _, page := admin.get("/dashboard/settings"); strings.Contains(page, shown[1]) {
			t.Errorf("the settings page shows the %s", what)
		}
	}

	// A webhook endpoint: a delivery fails, is redelivered, and succeeds.
	var status atomic.Int32
	status.Store(500)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) }))
	t.Cleanup(shop.Close)
	code, body = admin.post("/dashboard/settings/webhooks", url.Values{"url": {shop.URL + "/hooks"}, "events": {paygate.EventPaymentCaptured}})
	whsec := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(body)
	if code != 200 || whsec == "" {
		t.Fatalf("add endpoint: %d\n%s", code, body)
	}
	eps, _ := gw.Gateway.Endpoints(ctx, gw.Merchant)
	if len(eps) != 1 {
		t.Fatalf("endpoints: %d", len(eps))
	}
	ep := eps[0]
	if _, err := gw.Client().CreatePayment(ctx, client.PaymentParams{Amount: 1250, Currency: "USD",
		Card: &client.CardParams{Number: cardOK, ExpMonth: 12, ExpYear: 2040, CVC: testCVC}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Gateway.DeliverWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	code, body = admin.get("/dashboard/settings/webhooks/" + ep.ID)
	if code != 200 || !strings.Contains(body, "HTTP 500") || !strings.Contains(body, "<td>pending</td>") || strings.Contains(body, whsec) {
		t.Fatalf("endpoint page after a failure: %d\n%s", code, body)
	}
	ds, _, _ := gw.Gateway.EndpointDeliveries(ctx, gw.Merchant, ep.ID, 10)
	if len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	status.Store(204)
	if code, _ = admin.post("/dashboard/settings/webhooks/"+ep.ID+"/redeliver", url.Values{"event": {ds[0].EventID}}); code != http.StatusSeeOther {
		t.Fatalf("redeliver: %d", code)
	}
	if ds, _, _ = gw.Gateway.EndpointDeliveries(ctx, gw.Merchant, ep.ID, 10); ds[0].Attempts != 0 || ds[0].Status != paygate.WebhookPending {
		t.Fatalf("after redeliver: %+v", ds[0])
	}
	if _, err := gw.Gateway.DeliverWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if _, body = admin.get("/dashboard/settings/webhooks/" + ep.ID); !strings.Contains(body, "<td>delivered</td>") || !strings.Contains(body, "HTTP 204") {
		t.Errorf("endpoint page after the redelivery:\n%s", body)
	}
	if code, _ = admin.post("/dashboard/settings/webhooks/"+ep.ID+"/disable", nil); code != http.StatusSeeOther {
		t.Errorf("disable: %d", code)
	}
	if e, _ := gw.Gateway.Endpoint(ctx, gw.Merchant, ep.ID); e.Status != paygate.EndpointDisabled {
		t.Errorf("endpoint after disable: %s", e.Status)
	}

	// A POST without the token is refused; every change is audited; no
	// secret reaches the logs or the audit log.
	req, _ = http.NewRequest("POST", gw.URL()+"/dashboard/settings/keys", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if code, _ = admin.do(req); code != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", code)
	}
	all, _ := gw.Audit.AuditLog(ctx, gw.Merchant.ID, paygate.AuditFilter{Limit: 100})
	seen := map[string]bool{}
	for _, e := range all {
		seen[e.Action] = true
		if strings.Contains(e.Detail, secret) || strings.Contains(e.Detail, whsec) {
			t.Errorf("audit entry holds a secret: %+v", e)
		}
	}
	for _, want := range []string{"settings.update", "api_key.create", "api_key.revoke", "settings.signing_secret.rotate",
		"settings.api_accesskey.rotate", "webhook.create", "webhook.redeliver", "webhook.disable"} {
		if !seen[want] {
			t.Errorf("no %s in the audit log", want)
		}
	}
	if logs := string(gw.Logs.Bytes()); strings.Contains(logs, secret) || strings.Contains(logs, whsec) {
		t.Error("a secret is in the logs")
	}
}
