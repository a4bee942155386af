package web_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
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

// The dashboard of a shop with a month of business behind it, as an admin
// sees it: the Overview draws thirty days of sales and names the declines,
// a payment's page tells its story, the Virtual Terminal takes a card. The
// screenshots README.md shows are this test's (PAYGATE_SCREENSHOTS=dir:
// tour-overview, tour-payment, tour-terminal).
func TestDashboardTour(t *testing.T) {
	t.Parallel() // each has its own gateway and Chromium
	ctx := browsertest.New(t)
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Quiet: true})
	g := gw.Gateway
	name := "Corner Coffee Roasters"
	m, err := g.UpdateSettings(t.Context(), gw.Merchant.ID, paygate.SettingsUpdate{DisplayName: &name, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// A month of days, a few to a dozen sales each, one in eight declined
	// for one of three reasons, a refund now and then.
	rng := rand.New(rand.NewPCG(2026, 12))
	exp := time.Now().Year() + 3
	declines := []string{"4000000000009995", "4000000000000002", "4000000000000069"}
	cards := []string{"4242424242424242", "5555555555554444", "378282246310005", "4000056655665556"}
	var approved, declined int
	var last *paygate.Payment
	for day := range 30 {
		for range 3 + rng.IntN(10) + day/3 {
			number := cards[rng.IntN(len(cards))]
			if rng.IntN(8) == 0 {
				number = declines[rng.IntN(len(declines))]
			}
			cvc := "123"
			if strings.HasPrefix(number, "37") {
				cvc = "1234"
			}
			p, err := g.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: int64(800 + rng.IntN(9000)), Currency: "USD",
				Card: &paygate.Card{Number: number, ExpMonth: 12, ExpYear: exp, CVC: cvc}, Capture: true,
				OrderID: fmt.Sprintf("order-%d-%d", day, approved+declined), ReceiptEmail: "customer@example.com"})
			if p == nil {
				t.Fatalf("day %d: %v", day, err)
			}
			if err != nil {
				declined++
				continue
			}
			approved++
			last = p
			if rng.IntN(15) == 0 {
				if _, err := g.Refund(t.Context(), m, p.ID, p.Amount/2, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			gw.Clock.Advance(time.Duration(20+rng.IntN(60)) * time.Minute)
		}
		gw.Clock.Advance(24*time.Hour - gw.Clock.Now().Sub(gw.Clock.Now().Truncate(24*time.Hour)) + 9*time.Hour) // next morning
	}
	if _, err := g.Refund(t.Context(), m, last.ID, 500, "", ""); err != nil {
		t.Fatal(err)
	}

	u, err := paygate.NewUser(m.ID, "owner@corner-coffee.example", paygate.RoleAdmin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP"
	cookie := web.SignInForTest(gw.Node.Dashboard, u, m)
	base := gw.URL()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: cookie.Name, Value: cookie.Value, URL: base}); err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}

	browsertest.Do(t, ctx, "open the overview", chromedp.Navigate(base+"/dashboard/"), chromedp.WaitVisible(byCSS("svg")))
	text := browsertest.Text(t, ctx)
	for _, want := range []string{name, "Approval rate", "Top decline reasons", "insufficient_funds", "Open batches"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview: no %q in\n%s", want, text)
		}
	}
	// The first morning's sales may fall just outside the last 30 days:
	// the rate is about what was made, not exactly.
	made := 100 * float64(approved) / float64(approved+declined)
	if m := regexp.MustCompile(`Approval rate\s+([0-9.]+)%`).FindStringSubmatch(text); m == nil {
		t.Errorf("overview: no approval rate in\n%s", text)
	} else if got, _ := strconv.ParseFloat(m[1], 64); math.Abs(got-made) > 2 {
		t.Errorf("overview: approval rate %.1f%%, made %.1f%%", got, made)
	}
	// Two charts (volume and count), a bar for each day with sales.
	if n := len(browsertest.Get(t, ctx, "find the bars", chromedp.Nodes(chromedp.CSSAll("svg .chart-bars rect")))); n < 2*25 {
		t.Errorf("the charts draw %d bars, want about 2×30", n)
	}
	browsertest.Screenshot(t, ctx, "tour-overview")

	browsertest.Do(t, ctx, "open the last payment", chromedp.Navigate(base+"/dashboard/payments/"+last.ID), chromedp.WaitVisible(byCSS("h1")))
	text = browsertest.Text(t, ctx)
	for _, want := range []string{last.ConfirmationNumber, "Timeline", "Network trace", "Refund", "•••• " + last.Card.Last4} {
		if !strings.Contains(text, want) {
			t.Errorf("payment page: no %q in\n%s", want, text)
		}
	}
	browsertest.Screenshot(t, ctx, "tour-payment")

	// On a phone every page fits the screen's width: tables scroll in
	// their own box, nothing else overflows.
	for _, page := range []string{"/dashboard/", "/dashboard/payments", "/dashboard/payments/" + last.ID, "/dashboard/terminal",
		"/dashboard/batches", "/dashboard/deposits", "/dashboard/outbox", "/dashboard/settings", "/dashboard/users", "/dashboard/audit"} {
		browsertest.Do(t, ctx, "open "+page+" on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+page),
			chromedp.WaitVisible(byCSS("h1")))
		if w := browsertest.Get(t, ctx, "measure "+page, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
			t.Errorf("%s on a 390 px wide phone is %d px wide", page, w)
		}
		browsertest.Screenshot(t, ctx, "tour-phone"+strings.ReplaceAll(strings.ReplaceAll(page, last.ID, "one"), "/", "-"))
	}
	browsertest.Do(t, ctx, "back to a desktop", chromedp.EmulateViewport(1280, 900))

	browsertest.Do(t, ctx, "key in a phone order",
		chromedp.Navigate(base+"/dashboard/terminal"),
		chromedp.WaitVisible(byCSS("#card_number")),
		chromedp.SendKeys(byCSS("#amount"), "64.00"),
		chromedp.SendKeys(byCSS("#order_id"), "phone-1187"),
		chromedp.SendKeys(byCSS("#email"), "caller@example.com"),
		chromedp.SendKeys(byCSS("#card_number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(byCSS("#exp_month"), "12"),
		chromedp.SendKeys(byCSS("#exp_year"), strconv.Itoa(exp)[2:]),
	)
	browsertest.Screenshot(t, ctx, "tour-terminal")
	browsertest.Do(t, ctx, "charge", chromedp.Click(byCSS("form.terminal button[type=submit]")), chromedp.WaitVisible(byCSS(".receipt")))
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "Approved") || !strings.Contains(text, "$64.00") {
		t.Errorf("terminal receipt reads:\n%s", text)
	}
}
