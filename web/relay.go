package web

import (
	"bytes"
	"html"
	"mime"
	"net/http"
	"net/url"

	"github.com/paygate/paygate"
)

// relay is the end of the Web Proxy model: the gateway GETs the merchant's
// response URL with the signed outcome (paygate.Gateway.DeliverProxy) and
// shows the customer the merchant's page, on the gateway's URL, sandboxed
// (relayCSP) and with a <base> so that its relative links and images
// resolve against the merchant's site. If the merchant's site fails, the
// domain queues the outcome for retries and the customer gets the
// gateway's own receipt.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant, p *paygate.Payment) {
	// The merchant's page is fetched until it has been delivered once;
	// after that (a refresh, a second tab) the gateway's own page, so
	// that nobody can make the gateway call the merchant at will.
	if d, err := h.Gateway.Deliveries.SessionDelivery(r.Context(), s.ID); err == nil && d.Status != paygate.DeliveryPending {
		h.ended(w, r, s, m, p, s.StatusAt(h.now()))
		return
	}
	res, err := h.Gateway.DeliverProxy(r.Context(), m, s, p)
	if err != nil {
		h.Logger.Warn("merchant's response URL failed: the gateway's own page instead", paygate.LogRequestID, requestID(r.Context()),
			paygate.LogMerchantID, m.ID, "session_id", s.ID, paygate.LogError, err)
		h.ended(w, r, s, m, p, s.StatusAt(h.now()))
		return
	}
	if !isHTML(res) {
		// Delivered, but nothing to show: the gateway's own page.
		h.ended(w, r, s, m, p, s.StatusAt(h.now()))
		return
	}
	body := res.Body
	if target, err := h.Gateway.ResultURL(r.Context(), m, s, p); err == nil {
		if u, err := url.Parse(target); err == nil {
			u.RawQuery, u.Fragment = "", ""
			body = injectBase(body, u.String())
		}
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", relayCSP(m))
	if len(merchantOrigins(m)) > 0 {
		hd.Del("X-Frame-Options")
	}
	ct := res.ContentType
	if ct == "" {
		ct = "text/html; charset=utf-8"
	}
	hd.Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// isHTML reports whether the merchant answered with a page to show.
func isHTML(res *paygate.FetchResult) bool {
	ct := res.ContentType
	if ct == "" {
		ct = http.DetectContentType(res.Body)
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// injectBase puts <base href="base"> first in the page's head (or, without
// a head, after the <html> tag or the doctype), where it governs every
// relative URL after it.
func injectBase(page []byte, base string) []byte {
	tag := []byte(`<base href="` + html.EscapeString(base) + `">`)
	at := 0
	for _, name := range []string{"head", "html", "!doctype"} {
		if i := findTag(page, name); i >= 0 {
			at = i
			break
		}
	}
	out := make([]byte, 0, len(page)+len(tag))
	out = append(out, page[:at]...)
	out = append(out, tag...)
	return append(out, page[at:]...)
}

// findTag returns the index just after the first start tag <name ...>
// (case-insensitive), or -1.
func findTag(page []byte, name string) int {
	lower := bytes.ToLower(page)
	open := []byte("<" + name)
	for from := 0; ; {
		i := bytes.Index(lower[from:], open)
		if i < 0 {
			return -1
		}
		i += from
		next := i + len(open)
		if next < len(lower) && (lower[next] == '>' || lower[next] == ' ' || lower[next] == '\t' ||
			lower[next] == '\n' || lower[next] == '\r' || lower[next] == '/') {
			end := bytes.IndexByte(lower[next:], '>')
			if end < 0 {
				return -1
			}
			return next + end + 1
		}
		from = next
	}
}
