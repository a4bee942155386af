package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// routeAccess is who may use each route of the dashboard, written out by
// hand (not derived from the route table, which it checks): "open" (no
// sign-in), "signedin" (second-factor enrolment), or the least role that
// may. A route missing here fails TestRoleCoverage: add it.
var routeAccess = map[string]string{
	"GET /dashboard/assets/{name}":                    "open",
	"GET /dashboard/login":                            "open",
	"POST /dashboard/login":                           "open",
	"GET /dashboard/login/totp":                       "open",
	"POST /dashboard/login/totp":                      "open",
	"POST /dashboard/logout":                          "open",
	"GET /dashboard/set-password":                     "open",
	"POST /dashboard/set-password":                    "open",
	"GET /dashboard/account/totp":                     "signedin",
	"POST /dashboard/account/totp":                    "signedin",
	"GET /dashboard/account/totp/qr.png":              "signedin",
	"GET /dashboard/account":                          "viewer",
	"POST /dashboard/account/password":                "viewer",
	"POST /dashboard/account/recovery-codes":          "viewer",
	"GET /dashboard/users":                            "admin",
	"POST /dashboard/users":                           "admin",
	"POST /dashboard/users/{id}":                      "admin",
	"GET /dashboard/audit":                            "admin",
	"GET /dashboard/{$}":                              "viewer",
	"GET /dashboard/payments":                         "viewer",
	"GET /dashboard/payments.csv":                     "viewer",
	"GET /dashboard/payments/{id}":                    "viewer",
	"GET /dashboard/receipts/{id}":                    "viewer",
	"GET /dashboard/payments/{id}/{action}":           "operator",
	"POST /dashboard/payments/{id}/{action}":          "operator",
	"GET /dashboard/terminal":                         "operator",
	"POST /dashboard/terminal":                        "operator",
	"GET /dashboard/batches":                          "viewer",
	"GET /dashboard/batches/{id}":                     "viewer",
	"GET /dashboard/batches/{id}/export.csv":          "viewer",
	"GET /dashboard/batches/{id}/close":               "admin",
	"POST /dashboard/batches/{id}/close":              "admin",
	"GET /dashboard/batches/{id}/resend":              "admin",
	"POST /dashboard/batches/{id}/resend":             "admin",
	"GET /dashboard/batches/{id}/accept":              "admin",
	"POST /dashboard/batches/{id}/accept":             "admin",
	"GET /dashboard/deposits":                         "viewer",
	"GET /dashboard/deposits/{id}/statement.csv":      "viewer",
	"GET /dashboard/outbox":                           "viewer",
	"GET /dashboard/outbox/{id}":                      "viewer",
	"GET /dashboard/settings":                         "admin",
	"POST /dashboard/settings":                        "admin",
	"GET /dashboard/settings/rotate/{what}":           "admin",
	"POST /dashboard/settings/rotate/{what}":          "admin",
	"GET /dashboard/settings/keys":                    "admin",
	"POST /dashboard/settings/keys":                   "admin",
	"GET /dashboard/settings/keys/{id}/revoke":        "admin",
	"POST /dashboard/settings/keys/{id}/revoke":       "admin",
	"GET /dashboard/settings/webhooks":                "admin",
	"POST /dashboard/settings/webhooks":               "admin",
	"GET /dashboard/settings/webhooks/{id}":           "admin",
	"GET /dashboard/settings/webhooks/{id}/{action}":  "admin",
	"POST /dashboard/settings/webhooks/{id}/{action}": "admin",
}

var roleRank = map[string]int{"viewer": 0, "operator": 1, "admin": 2}

func allowed(role paygate.Role, level string) bool {
	need, ok := roleRank[level]
	return !ok || roleRank[string(role)] >= need
}

var (
	hrefRE = regexp.MustCompile(`href="(/dashboard[^"#]*)"`)
	formRE = regexp.MustCompile(`<form method="(get|post)" action="(/dashboard[^"]*)"`)
)

// TestRoleCoverage walks each role (admin, operator, viewer) over every
// route of the dashboard: a page the role may use answers (not 403, not
// an error), one it may not is the 403 page, for GET and POST alike (and a
// refused POST changes nothing); and no page shows a role a link or a
// form that leads where it may not go.
func TestRoleCoverage(t *testing.T) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: postgresFromEnv(t), Quiet: true})
	settler := gatewaytest.NewSettler(gw.Gateway)
	gw.Gateway.Settler = settler
	s := newSite(t, gw)
	ctx := t.Context()
	card := &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}

	// A settled batch with its deposit, an open batch, an authorized
	// payment (capture and void are offered), mail.
	sale, err := gw.Gateway.CreatePayment(ctx, gw.Merchant, paygate.PaymentRequest{Amount: 2500, Currency: "USD", Card: card,
		Capture: true, ReceiptEmail: "buyer@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	settled, err := gw.Gateway.OpenBatch(ctx, gw.Merchant, sale.Currency)
	if err != nil {
		t.Fatal(err)
	}
	gw.Clock.Advance(time.Second)
	if b, dep, err := gw.Gateway.CloseBatch(ctx, gw.Merchant, settled.ID); err != nil || dep == nil {
		t.Fatalf("close: %v %v %v", b, dep, err)
	}
	auth, err := gw.Gateway.CreatePayment(ctx, gw.Merchant, paygate.PaymentRequest{Amount: 900, Currency: "USD", Card: card})
	if err != nil || auth.Status != paygate.StatusAuthorized {
		t.Fatalf("authorize: %v %v", auth, err)
	}
	open, err := gw.Gateway.OpenBatch(ctx, gw.Merchant, sale.Currency)
	if err != nil {
		t.Fatal(err)
	}
	deps, _, err := gw.Gateway.Batches.Deposits(ctx, paygate.BatchFilter{MerchantID: gw.Merchant.ID, Limit: 1})
	if err != nil || len(deps) != 1 {
		t.Fatalf("deposits: %v %v", deps, err)
	}
	mails, _, err := gw.Gateway.ListMail(ctx, gw.Merchant, paygate.MailFilter{Limit: 1})
	if err != nil || len(mails) != 1 {
		t.Fatalf("mail: %v %v", mails, err)
	}
	ep, _, err := gw.Gateway.CreateEndpoint(ctx, gw.Merchant, "http://127.0.0.1:9/hooks", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := gw.Gateway.Merchants.APIKeys(ctx, gw.Merchant.ID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("api keys: %v %v", keys, err)
	}
	path := func(pattern string) string {
		p := strings.TrimSuffix(pattern, "{$}")
		p = strings.ReplaceAll(p, "/webhooks/{id}/{action}", "/webhooks/{id}/disable")
		for old, id := range map[string]string{
			"/webhooks/{id}": "/webhooks/" + ep.ID, "/keys/{id}": "/keys/" + keys[0].ID, "/rotate/{what}": "/rotate/signing-secret",
			"/payments/{id}": "/payments/" + auth.ID, "/receipts/{id}": "/receipts/" + sale.ID, "/batches/{id}": "/batches/" + open.ID,
			"/deposits/{id}": "/deposits/" + deps[0].ID, "/outbox/{id}": "/outbox/" + mails[0].ID, "/users/{id}": "/users/" + s.users[paygate.RoleViewer].ID,
			"{action}": "capture",
		} {
			p = strings.ReplaceAll(p, old, id)
		}
		return p
	}

	d := gw.Node.Dashboard
	mux := http.NewServeMux()
	patterns := web.DashboardRoutesForTest(d)
	for _, pat := range patterns {
		mux.HandleFunc(pat, func(http.ResponseWriter, *http.Request) {})
		if _, ok := routeAccess[pat]; !ok {
			t.Errorf("route %q has no entry in routeAccess: say who may use it", pat)
		}
	}
	patternOf := func(method, target string) string {
		req, _ := http.NewRequest(method, target, nil)
		_, pat := mux.Handler(req)
		return pat
	}
	sort.Strings(patterns)
	visited := 0
	for _, pat := range patterns {
		level := routeAccess[pat]
		if _, gated := roleRank[level]; !gated {
			continue // open and sign-in routes: the sign-in tests
		}
		method, route, _ := strings.Cut(pat, " ")
		target := path(route)
		for _, role := range paygate.Roles {
			may := allowed(role, level)
			if method == "POST" {
				if may {
					continue // allowed actions have their own tests
				}
				st, body := s.post(role, target, url.Values{"reason": {"x"}, "amount": {"1.00"}})
				if st != http.StatusForbidden || !strings.Contains(body, "You do not have access") {
					t.Errorf("%s as %s: got %d, want the 403 page", pat, role, st)
				}
				continue
			}
			req, _ := http.NewRequest("GET", gw.URL()+target, nil)
			req.AddCookie(s.cookies[role])
			resp, body := dashDo(t, req)
			visited++
			st := resp.StatusCode
			switch {
			case !may:
				if st != http.StatusForbidden || !strings.Contains(body, "You do not have access") {
					t.Errorf("GET %s as %s: got %d, want the 403 page", target, role, st)
				}
				continue
			case st == http.StatusForbidden || st >= 500 || st == http.StatusSeeOther || st == http.StatusNotFound:
				t.Errorf("GET %s as %s: got %d (%s), want the page", target, role, st, resp.Header.Get("Location"))
				continue
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				continue
			}
			noCardNumbers(t, target, body)
			links := map[string]string{}
			for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
				links[m[1]] = "GET"
			}
			for _, m := range formRE.FindAllStringSubmatch(body, -1) {
				links[m[2]] = strings.ToUpper(m[1])
			}
			for link, how := range links {
				u, err := url.Parse(strings.ReplaceAll(link, "&amp;", "&"))
				if err != nil {
					t.Errorf("GET %s as %s: bad link %q", target, role, link)
					continue
				}
				lp := patternOf(how, "http://x"+u.Path)
				if lp == "" || lp == "/dashboard/" {
					t.Errorf("GET %s as %s: link %s %s leads to no page", target, role, how, u.Path)
					continue
				}
				if !allowed(role, routeAccess[lp]) {
					t.Errorf("GET %s as %s shows %s %s, which is %s only", target, role, how, u.Path, routeAccess[lp])
				}
			}
		}
	}
	if visited < 40 {
		t.Errorf("walked %d pages; the table or the substitutions are off", visited)
	}

	// What the refused POSTs would have changed is unchanged.
	if p, err := gw.Payments.Payment(ctx, gw.Merchant.ID, auth.ID); err != nil || p.Status != paygate.StatusAuthorized {
		t.Errorf("after refused captures the payment is %v (%v)", p.Status, err)
	}
	if b, err := gw.Gateway.Batches.Batch(ctx, gw.Merchant.ID, open.ID); err != nil || b.Status != paygate.BatchOpen {
		t.Errorf("after refused closes the batch is %v (%v)", b.Status, err)
	}
	if list, _, err := gw.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: gw.Merchant.ID, Limit: 10}); err != nil || len(list) != 2 {
		t.Errorf("after refused terminal payments the store holds %d payments (%v)", len(list), err)
	}
}
