package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paygate/paygate/internal/browsertest"
)

// TestBrowser checks that Chromium starts here and fills a form.
func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.Method == "POST" {
			r.ParseForm()
			w.Write([]byte("<p>hello " + r.Form.Get("name") + "</p>"))
			return
		}
		w.Write([]byte(`<form method=post><input id=name name=name><button id=go>Go</button></form>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t)
	browsertest.Do(t, ctx, "fill the form", chromedp.Navigate(srv.URL), chromedp.SendKeys(chromedp.CSS("#name"), "world"),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS("p")))
	if got := browsertest.Text(t, ctx); !strings.Contains(got, "hello world") {
		t.Fatalf("got %q", got)
	}
}
