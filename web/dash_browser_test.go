package web_test

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

func byCSS(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// A merchant's operator in a real browser: Virtual Terminal sale and
// decline, then capture, refund and void from the payments' pages, the
// Overview and the Payments list; the CSV export parses. No page shows a
// card number beyond its last 4.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel() // each has its own gateway and Chromium
	ctx := browsertest.New(t)
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: gatewaytest.PostgresIfSet(t), Quiet: true})
	d := gw.Node.Dashboard
	u, err := paygate.NewUser(gw.Merchant.ID, "olga@example.com", paygate.RoleOperator, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP" // enrolled: operators need a second factor
	cookie := web.SignInForTest(d, u, gw.Merchant)
	base := gw.URL()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: cookie.Name, Value: cookie.Value, URL: base}); err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}
	year := strconv.Itoa(time.Now().Year() + 2)[2:]
	pages := map[string]string{}
	keep := func(name string) {
		html := browsertest.Get(t, ctx, "read "+name, chromedp.OuterHTML(byCSS("html")))
		pages[name] = html
		browsertest.Screenshot(t, ctx, "dashboard-"+name)
	}
	terminal := func(typ, amount, number string) string {
		browsertest.Do(t, ctx, "key in "+number,
			chromedp.Navigate(base+"/dashboard/terminal"),
			chromedp.WaitVisible(byCSS("#card_number")),
			chromedp.Click(byCSS(`input[value="`+typ+`"]`)),
			chromedp.SendKeys(byCSS("#amount"), amount),
			chromedp.SendKeys(byCSS("#order_id"), "phone-"+amount),
			chromedp.SendKeys(byCSS("#email"), "caller@example.com"),
			chromedp.SendKeys(byCSS("#card_number"), number),
			chromedp.SendKeys(byCSS("#exp_month"), "12"),
			chromedp.SendKeys(byCSS("#exp_year"), year),
		)
		if typ == "sale" && amount == "42.50" {
			keep("terminal")
		}
		browsertest.Do(t, ctx, "charge", chromedp.Click(byCSS("form.terminal button[type=submit]")),
			chromedp.WaitVisible(byCSS(".receipt")))
		return browsertest.Location(t, ctx)
	}

	loc := terminal("sale", "42.50", "4242424242424242")
	text := browsertest.Text(t, ctx)
	if !strings.Contains(text, "Approved") || !strings.Contains(text, "PG-") || !strings.Contains(text, "$42.50") {
		t.Errorf("sale receipt at %s reads:\n%s", loc, text)
	}
	keep("receipt")
	terminal("sale", "10.00", "4000000000000002")
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "Declined") {
		t.Errorf("decline receipt reads:\n%s", text)
	}
	list, _, err := gw.Payments.Payments(t.Context(), paygate.PaymentFilter{MerchantID: gw.Merchant.ID, Limit: 10})
	if err != nil || len(list) != 2 || list[0].Channel != paygate.ChannelMOTO || list[1].Status != paygate.StatusCaptured {
		t.Fatalf("after a sale and a decline the store holds %d payments (%v)", len(list), err)
	}

	// An authorization: capture part of it, refund part, from its page.
	loc = terminal("authorization", "80.00", "4242424242424242")
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], base+"/dashboard/receipts/")
	act := func(action, amount, notice string) {
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/dashboard/payments/" + id),
			chromedp.Click(byCSS(`a[href$="/` + action + `"]`)), chromedp.WaitVisible(byCSS("form.confirm-form button[type=submit]"))}
		if amount != "" {
			steps = append(steps, chromedp.SetValue(byCSS("#amount"), amount))
		}
		browsertest.Do(t, ctx, action, steps...)
		if action == "refund" {
			keep("confirm")
		}
		browsertest.Do(t, ctx, "confirm "+action, chromedp.Click(byCSS("form.confirm-form button[type=submit]")), chromedp.WaitVisible(byCSS(".notice.ok")))
		if text := browsertest.Text(t, ctx); !strings.Contains(text, notice) {
			t.Errorf("after %s the page reads:\n%s", action, text)
		}
	}
	act("capture", "60.00", "captured")
	act("refund", "15.00", "refund was made")
	keep("payment")
	p, err := gw.Payments.Payment(t.Context(), gw.Merchant.ID, id)
	if err != nil || p.AmountCaptured != 6000 || p.AmountRefunded != 1500 || p.Status != paygate.StatusPartiallyRefunded {
		t.Fatalf("payment after capture and refund: %+v, %v", p, err)
	}
	loc = terminal("authorization", "5.00", "4242424242424242")
	id = strings.TrimPrefix(strings.Split(loc, "?")[0], base+"/dashboard/receipts/")
	act("void", "", "voided")

	browsertest.Do(t, ctx, "overview", chromedp.Navigate(base+"/dashboard/"), chromedp.WaitVisible(byCSS(".chart-svg")))
	keep("overview")
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "Approval rate") || !strings.Contains(text, "do not honor") {
		t.Errorf("overview reads:\n%s", text)
	}
	browsertest.Do(t, ctx, "payments", chromedp.Navigate(base+"/dashboard/payments?q=4242"), chromedp.WaitVisible(byCSS("table.payments")))
	keep("payments")
	if n := strings.Count(pages["payments"], `href="/dashboard/payments/pay_`); n != 3 {
		t.Errorf("search for 4242 lists %d payments, want 3", n)
	}
	for name, html := range pages {
		if strings.Contains(html, "4242424242424242") || strings.Contains(html, "424242******") {
			t.Errorf("page %s shows more of the card than its last 4", name)
		}
	}

	// The CSV export, as the browser would download it.
	req, _ := http.NewRequest("GET", base+"/dashboard/payments.csv?channel=moto", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	if len(rows) != 5 || rows[0][0] != "id" || rows[1][12] != "moto" {
		t.Errorf("CSV rows: %v", rows)
	}
}
