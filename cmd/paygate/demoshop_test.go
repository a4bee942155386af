package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/gatewaytest"
)

var demoShopRE = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+) in your browser`)

// noRedirects is a browser that lets the test follow each redirect.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func fetch(t *testing.T, method, u string, form url.Values) (status int, body, location string) {
	t.Helper()
	var r io.Reader
	if form != nil {
		r = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// hidden returns the named inputs of the form in body with the class or id
// marker.
func hidden(t *testing.T, body, marker string) url.Values {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s in:\n%s", marker, body)
	}
	form, _, _ := strings.Cut(body[i:], "</form>")
	v := url.Values{}
	nameRE, valueRE := regexp.MustCompile(`\sname="([^"]*)"`), regexp.MustCompile(`\svalue="([^"]*)"`)
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(form, -1) {
		if n := nameRE.FindStringSubmatch(tag); n != nil {
			val := ""
			if m := valueRE.FindStringSubmatch(tag); m != nil {
				val = html.UnescapeString(m[1])
			}
			v.Set(html.UnescapeString(n[1]), val)
		}
	}
	return v
}

// TestDemoShop runs `paygate demo-shop` with its own gateway and buys the
// mug through the Web Redirect model on the gateway's real page; Ctrl-C
// stops both and removes the temporary database.
func TestDemoShop(t *testing.T) {
	clearPaygateEnv(t)
	s := startCommand(t, demoShopRE, "demo-shop", "--addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0")
	out := s.stdout.String()
	for _, want := range []string{"4242 4242 4242 4242   approved", "4000 0000 0000 0002   declined", "merchant:    acct_demo_shop", "Ctrl-C"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`gateway: +(http://127\.0\.0\.1:\d+) \(in this process; temporary database (\S+), removed on exit\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout names no gateway and database:\n%s", out)
	}
	gw, db := m[1], m[2]

	status, body, _ := fetch(t, "GET", s.url+"/", nil)
	if status != http.StatusOK || !strings.Contains(body, `action="`+gw+`/pay"`) || !strings.Contains(body, `id="buy-proxy"`) {
		t.Fatalf("GET /: got %d\n%s", status, body)
	}
	status, _, page := fetch(t, "POST", s.url+"/buy/redirect", url.Values{})
	if status != http.StatusSeeOther || !strings.HasPrefix(page, gw+"/pay/cs_") {
		t.Fatalf("POST /buy/redirect: got %d to %q", status, page)
	}
	status, body, _ = fetch(t, "GET", page, nil)
	if status != http.StatusOK || !strings.Contains(body, "Paygate Demo Shop") {
		t.Fatalf("the payment page: got %d\n%s", status, body)
	}
	form := hidden(t, body, `class="pay-form"`)
	form.Set("number", "4242 4242 4242 4242")
	form.Set("exp_month", "12")
	form.Set("exp_year", strconv.Itoa(time.Now().Year()+2))
	form.Set("cvc", "123")
	status, _, result := fetch(t, "POST", page, form)
	if status != http.StatusSeeOther || !strings.HasPrefix(result, s.url+"/return?") {
		t.Fatalf("pay: got %d to %q", status, result)
	}
	status, body, _ = fetch(t, "GET", result, nil)
	if status != http.StatusOK || !regexp.MustCompile(`id="confirmation-number">PG-`).MatchString(body) {
		t.Fatalf("the shop's receipt: got %d\n%s", status, body)
	}
	status, body, _ = fetch(t, "GET", s.url+"/orders", nil)
	if status != http.StatusOK || !strings.Contains(body, `class="fulfilled">1<`) {
		t.Errorf("GET /orders: got %d\n%s", status, body)
	}

	if code := s.stop(); code != 0 {
		t.Errorf("exit %d after Ctrl-C; stderr:\n%s", code, s.stderr)
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("the temporary database is left behind (stat: %v)", err)
	}
	for _, secret := range []string{"4242424242424242", "4242 4242 4242 4242", "whsec_"} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestDemoShopGateway runs the shop against a gateway run apart: it sets
// the merchant up there.
func TestDemoShopGateway(t *testing.T) {
	clearPaygateEnv(t)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	s := startCommand(t, demoShopRE, "demo-shop", "--addr", "127.0.0.1:0", "--gateway", g.URL(), "--secret-key", g.SecretKey)
	if out := s.stdout.String(); !strings.Contains(out, "--allow-private-targets") || strings.Contains(out, g.SecretKey) {
		t.Errorf("stdout: want the hint on --allow-private-targets and not the key:\n%s", out)
	}
	set, err := g.Client().Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if set.DisplayName != "Paygate Demo Shop" || len(set.AllowedOrigins) != 1 || set.AllowedOrigins[0] != s.url ||
		set.SuccessURL != s.url+"/return" || len(set.SigningSecrets) != 1 {
		t.Errorf("the merchant's settings: %+v", set)
	}
	status, body, _ := fetch(t, "GET", s.url+"/", nil)
	if status != http.StatusOK || !strings.Contains(body, `name="merchant_id" value="`+g.Merchant.ID+`"`) {
		t.Errorf("GET /: got %d\n%s", status, body)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit %d after Ctrl-C; stderr:\n%s", code, s.stderr)
	}
}
