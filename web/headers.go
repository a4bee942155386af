package web

import (
	"net/http"
	"strings"

	"github.com/paygate/paygate"
)

// The security headers. Every response gets the base ones (baseHeaders):
// no caching (a page may show a receipt; the back button must ask the
// server again), no referrer (the page's URL is the session's SecureID),
// no sniffing, HSTS over TLS, and the strictest policy, which a page then
// loosens for its merchant (pageHeaders):
//
//	default-src 'none'; style-src 'self'; img-src 'self' <logo origin>;
//	form-action 'self' <allowed origins>; frame-ancestors <allowed origins> | 'none';
//	base-uri 'none'
//
// form-action lists the merchant's allowed origins because Chrome applies
// it to the redirects that follow a form's POST: the card form's answer is
// a 303 to the merchant's return URL, which is always on one of them.
// frame-ancestors lets the merchant embed the page in its own site (and
// only there). X-Frame-Options cannot name origins, and a browser that
// knows frame-ancestors ignores it anyway: it is sent (DENY) only when no
// origin may frame the page, for browsers that know nothing newer.

// baseHeaders sets what every response carries.
func (h *Handler) baseHeaders(w http.ResponseWriter) { securityHeaders(w, h.TLS) }

// securityHeaders sets the base headers on a page served over TLS or not
// (the dashboard shares them).
func securityHeaders(w http.ResponseWriter, tls bool) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", pageCSP(nil))
	hd.Set("X-Frame-Options", "DENY")
	if tls {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// pageHeaders sets the policy of a page shown for merchant m (nil: none
// known).
func pageHeaders(w http.ResponseWriter, m *paygate.Merchant) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", pageCSP(m))
	if len(merchantOrigins(m)) > 0 {
		hd.Del("X-Frame-Options")
	} else {
		hd.Set("X-Frame-Options", "DENY")
	}
}

// relayCSP is the policy of a merchant's page relayed on the gateway's URL
// (the Web Proxy model): a sandbox with an opaque origin, so that the
// merchant's HTML can neither run a script nor act as the gateway's origin
// (no allow-scripts, no allow-same-origin); its forms and links still work
// and may open the merchant's site in a new window. It may load what it
// likes from the merchant's site (no fetch directives): its own images and
// stylesheets. frame-ancestors is the payment page's.
func relayCSP(m *paygate.Merchant) string {
	return "sandbox allow-forms allow-popups allow-popups-to-escape-sandbox; frame-ancestors " + frameAncestors(m)
}

// pageCSP is the policy of the gateway's own pages.
func pageCSP(m *paygate.Merchant) string {
	img := "'self'"
	if m != nil {
		if o := paygate.URLOrigin(m.LogoURL); o != "" && safeOrigin(o) {
			img += " " + o
		}
	}
	form := "'self'"
	for _, o := range merchantOrigins(m) {
		form += " " + o
	}
	return "default-src 'none'; style-src 'self'; img-src " + img + "; form-action " + form +
		"; frame-ancestors " + frameAncestors(m) + "; base-uri 'none'"
}

func frameAncestors(m *paygate.Merchant) string {
	origins := merchantOrigins(m)
	if len(origins) == 0 {
		return "'none'"
	}
	return strings.Join(origins, " ")
}

// merchantOrigins returns the merchant's allowed origins fit for a policy.
func merchantOrigins(m *paygate.Merchant) []string {
	if m == nil {
		return nil
	}
	var list []string
	for _, o := range m.AllowedOrigins {
		if safeOrigin(o) {
			list = append(list, o)
		}
	}
	return list
}

// safeOrigin reports whether o (normalized by paygate.ParseOrigin) holds
// only what an origin may, so that it cannot add a directive to a policy.
func safeOrigin(o string) bool {
	if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
		return false
	}
	for _, r := range o {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune(".-:/[]", r):
		default:
			return false
		}
	}
	return true
}
