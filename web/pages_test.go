package web_test

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/paygate/paygate"
)

var pagesDir = flag.String("pages", "", "write every page, with its stylesheet, to this directory for review")

// TestRenderPages writes each page the customer may see (go test -run
// TestRenderPages -pages DIR), to look at in a browser.
func TestRenderPages(t *testing.T) {
	if *pagesDir == "" {
		t.Skip("-pages not set")
	}
	if err := os.MkdirAll(*pagesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{})
	save := func(name string, r response) {
		css := regexp.MustCompile(`/assets/(style\.[0-9a-f]+\.css)`)
		if m := css.FindStringSubmatch(r.body); m != nil {
			sheet := e.get("/assets/" + m[1])
			os.WriteFile(filepath.Join(*pagesDir, "style.css"), []byte(sheet.body), 0o644)
		}
		body := css.ReplaceAllString(r.body, "style.css")
		if err := os.WriteFile(filepath.Join(*pagesDir, name+".html"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := e.start("")
	save("pay", e.get("/pay/"+s.ID))
	form := e.cardForm(s.ID, cardDecline, testCVC)
	save("declined-once", e.post("/pay/"+s.ID, form))
	bad := e.cardForm(s.ID, "4242424242424241", "12")
	save("invalid-number", e.post("/pay/"+s.ID, bad))
	cvc := e.cardForm(s.ID, cardCVC, testCVC)
	save("declined-cvc", e.post("/pay/"+s.ID, cvc))
	e.post("/pay/"+s.ID, e.cardForm(s.ID, cardOK, testCVC))
	save("receipt", e.get("/pay/"+s.ID+"/receipt"))

	d := e.start("")
	for range paygate.MaxSessionDeclines {
		e.post("/pay/"+d.ID, e.cardForm(d.ID, cardDecline, testCVC))
	}
	save("declined-final", e.get("/pay/"+d.ID))

	p := e.start("")
	paying := e.session(p.ID)
	paying.Paying, paying.Attempts = true, 1
	paying.PayingSince = e.gw.Clock.Now()
	e.g.Sessions.UpdateSession(t.Context(), paying)
	save("processing", e.get("/pay/"+p.ID))

	c := e.start("")
	e.post("/pay/"+c.ID+"/cancel", url.Values{"csrf_token": e.cardForm(c.ID, cardOK, testCVC)["csrf_token"]})
	save("canceled", e.get("/pay/"+c.ID))
	x := e.start("")
	save("not-found", e.get("/pay/cs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	save("forbidden", e.postWith("/pay/"+x.ID, url.Values{}, nil))
	save("card-in-url", e.get("/pay/"+x.ID+"?number=1"))
	save("form-expired", e.get("/pay?"+e.signForm(url.Values{"merchant_id": {e.merchant.ID}, "amount": {"100"},
		"currency": {"USD"}, "return_url": {e.shop.srv.URL + "/paid"}}, e.gw.Clock.Now().Add(-paygate.FormLifetime*2)).Encode()))
	e.gw.Clock.Advance(paygate.DefaultSessionLifetime)
	save("expired", e.get("/pay/"+x.ID))
}
