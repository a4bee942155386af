package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// checkHeaders checks the security headers of a gateway page shown for a
// merchant on origin ("" : no merchant known).
func checkHeaders(t *testing.T, r response, origin string) {
	t.Helper()
	h := r.Header
	where := r.Request.Method + " " + r.Request.URL.Path
	want := map[string]string{
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if origin != "" {
		csp = "default-src 'none'; style-src 'self'; img-src 'self' " + origin + "; form-action 'self' " + origin +
			"; frame-ancestors " + origin + "; base-uri 'none'"
		if h.Get("X-Frame-Options") != "" {
			t.Errorf("%s: X-Frame-Options %q beside frame-ancestors %s", where, h.Get("X-Frame-Options"), origin)
		}
	} else {
		want["X-Frame-Options"] = "DENY"
	}
	want["Content-Security-Policy"] = csp
	if strings.HasPrefix(r.Request.URL.String(), "https:") {
		want["Strict-Transport-Security"] = "max-age=31536000"
	} else if h.Get("Strict-Transport-Security") != "" {
		t.Errorf("%s: HSTS over plain HTTP", where)
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s: got %q, want %q", where, k, got, v)
		}
	}
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type: got %q", where, ct)
	}
	if strings.Contains(r.body, "<script") || regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(r.body) ||
		strings.Contains(r.body, "style=") {
		t.Errorf("%s: inline script or style in the page", where)
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	origin := e.shop.srv.URL
	s := e.start("")
	paid := e.start("")
	e.post("/pay/"+paid.ID, e.cardForm(paid.ID, cardOK, testCVC))
	declined := e.start("")
	form := e.cardForm(declined.ID, cardDecline, testCVC)
	decline := e.afterDecline(e.post("/pay/"+declined.ID, form), declined.ID)
	bad := e.cardForm(s.ID, "1234", testCVC)
	invalid := e.post("/pay/"+s.ID, bad)
	for _, tc := range []struct {
		name   string
		r      response
		origin string
	}{
		{"payment page", e.get("/pay/" + s.ID), origin},
		{"decline", decline, origin},
		{"invalid card", invalid, origin},
		{"receipt", e.get("/pay/" + paid.ID + "/receipt"), origin},
		{"completed page", e.get("/pay/" + paid.ID), origin},
		{"not found", e.get("/pay/cs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ""},
		{"bad form", e.get("/pay?merchant_id=x"), ""},
		{"forbidden", e.postWith("/pay/"+s.ID, url.Values{}, nil), ""},
		{"method", e.postWith("/pay/"+s.ID+"/receipt", url.Values{}, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkHeaders(t, tc.r, tc.origin) })
	}

	// The stylesheet: cached for good under its hash.
	page := e.get("/pay/" + s.ID)
	m := regexp.MustCompile(`<link rel="stylesheet" href="(/assets/style\.[0-9a-f]{8}\.css)">`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no stylesheet link in the page:\n%s", page.body)
	}
	css := e.get(m[1])
	wantStatus(t, css, 200)
	for k, v := range map[string]string{"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff"} {
		if got := css.Header.Get(k); got != v {
			t.Errorf("stylesheet: %s: got %q, want %q", k, got, v)
		}
	}
	wantStatus(t, e.get("/assets/style.css"), http.StatusNotFound)
}

func TestHSTSOverTLS(t *testing.T) {
	// The header is the handler's choice (TLS: true); the listener's TLS
	// is the server's.
	e := newEnv(t, envOptions{tls: true})
	s := e.start("")
	r := e.get("/pay/" + s.ID)
	if got := r.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security: got %q", got)
	}
}
