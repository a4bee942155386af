// Package demoshop is the demo merchant site that `paygate demo-shop` runs:
// a small shop selling one item through each way a merchant can take a
// card with paygate, so that a new user sees every flow in a browser.
//
//   - Direct API: the shop's own card form; the shop's server sends the
//     card to the gateway (client.CreatePayment). Raw card data passes
//     through the merchant's server: PCI DSS SAQ D.
//   - Hosted payment page, Web Redirect: the shop starts a session
//     (client.StartSession) and sends the browser to the gateway's page,
//     which sends it back to /return with the signed result: SAQ A.
//   - Hosted payment page, Web Proxy: the same, but the gateway itself GETs
//     /proxy/result with the signed result and shows the customer the
//     page the shop answers: SAQ A.
//   - Hosted payment page from a signed HTML form: the shop's page posts a
//     form signed with client.SignForm straight to the gateway's /pay, no
//     API call: SAQ A.
//   - Transparent redirect: the shop's own card form posts the card from
//     the browser straight to the gateway's /tr, its hidden fields hashed
//     with the shop's access key (client.TransparentRedirectFields); the
//     gateway sends the browser to the shop's success or decline page with
//     the signed result (client.VerifyTransparentRedirect): SAQ A-EP.
//
// It is written only against package client and the standard library, as
// a real merchant's site would be: every signed result is verified with
// client.VerifyRequest, confirmed with the gateway (client.Session),
// fulfilled once however often it arrives, and acknowledged
// (client.AckSession). Orders live in memory.
//
// Routes:
//
//	GET  /               the item and the four ways to pay for it
//	GET  /direct         the shop's own card form (direct API)
//	POST /direct         pay with it: the receipt, or the form again with the decline
//	POST /buy/redirect   start a Web Redirect session: 303 to the gateway's page
//	POST /buy/proxy      start a Web Proxy session: 303 to the gateway's page
//	GET  /return         the Web Redirect landing (and the signed form's, and declines')
//	GET  /tr             the shop's card form, posting to the gateway's /tr
//	GET  /tr/success     the transparent redirect's landing after an approval
//	GET  /tr/decline     ... after a decline, or a form the gateway refused to pay
//	GET  /proxy/result   the Web Proxy response URL, fetched by the gateway
//	GET  /orders         the shop's orders
//	GET  /static/shop.css
package demoshop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/client"
)

// The item the shop sells.
const (
	ItemName     = "Paygate mug"
	ItemPrice    = 1999 // minor units: $19.99
	ItemCurrency = "USD"
)

// DisplayName is the name Setup gives the merchant on the gateway's
// payment page.
const DisplayName = "Paygate Demo Shop"

// Shop is the demo merchant site. Set the fields (Setup sets URL,
// SigningSecret and, if empty, MerchantID), then serve Handler.
type Shop struct {
	// Client calls the gateway's API with the merchant's secret key.
	Client *client.Client
	// GatewayURL is the gateway's base URL as customers' browsers reach
	// it: the signed HTML form posts to GatewayURL + "/pay".
	GatewayURL string
	// MerchantID is the merchant's id ("acct_..."), which the signed form
	// names; Setup reads it from the settings when empty.
	MerchantID string
	// SigningSecret ("whsec_...") verifies the gateway's signed results and
	// signs the HTML form; Setup makes a new one.
	SigningSecret string
	// AccessKey hashes the transparent redirect form's hidden fields; it
	// never goes into a page. Setup makes a new one.
	AccessKey string
	// URL is the shop's own base URL as browsers and the gateway reach it,
	// such as "http://127.0.0.1:8081": the return URLs are built on it.
	URL string

	Logger *slog.Logger
	// Clock is the time signed messages are checked and signed at (nil:
	// time.Now). Tests give the gateway's clock.
	Clock func() time.Time

	// ProxyDown, while set, makes the Web Proxy response URL answer 503:
	// the gateway then shows its own receipt and retries the delivery
	// later (for tests and to show what happens).
	ProxyDown atomic.Bool

	mu     sync.Mutex
	orders map[string]*order // by session id, or payment id for direct payments
	list   []*order          // in the order they were made
}

// Setup configures the merchant on the gateway for this shop, at shopURL:
// the shop's origin as the only allowed origin, its result pages as the
// success, decline and cancel URLs, its display name; a new signing
// secret, kept in s.SigningSecret, and a new access key, kept in
// s.AccessKey (the one time the gateway shows each).
func (s *Shop) Setup(ctx context.Context, shopURL string) error {
	u, err := url.Parse(shopURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("shop URL %q: want an http(s) URL such as http://127.0.0.1:8081", shopURL)
	}
	s.URL = strings.TrimRight(shopURL, "/")
	origin := u.Scheme + "://" + u.Host
	ret := s.URL + "/return"
	set, err := s.Client.UpdateSettings(ctx, client.SettingsUpdate{
		AllowedOrigins: &[]string{origin},
		SuccessURL:     &ret,
		DeclineURL:     &ret,
		CancelURL:      &ret,
		DisplayName:    new(DisplayName),
	})
	if err != nil {
		return fmt.Errorf("update the merchant's settings: %w", err)
	}
	if s.MerchantID == "" {
		s.MerchantID = set.MerchantID
	}
	secret, err := s.Client.RotateSigningSecret(ctx)
	if err != nil {
		return fmt.Errorf("make a signing secret: %w", err)
	}
	s.SigningSecret = secret
	key, err := s.Client.RotateAccessKey(ctx)
	if err != nil {
		return fmt.Errorf("make an access key: %w", err)
	}
	s.AccessKey = key
	return nil
}

// Handler returns the shop's routes.
func (s *Shop) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /direct", s.directForm)
	mux.HandleFunc("POST /direct", s.directPay)
	mux.HandleFunc("POST /buy/redirect", s.buy(client.ModelRedirect))
	mux.HandleFunc("POST /buy/proxy", s.buy(client.ModelProxy))
	mux.HandleFunc("GET /return", s.redirectResult)
	mux.HandleFunc("GET /proxy/result", s.proxyResult)
	mux.HandleFunc("GET /tr", s.trForm)
	mux.HandleFunc("GET /tr/success", s.trResult)
	mux.HandleFunc("GET /tr/decline", s.trResult)
	mux.HandleFunc("GET /orders", s.ordersPage)
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "There is no such page in this shop.")
	})
	// A form posted from another site is refused (the relayed Web Proxy
	// page has no forms: only links back).
	return s.headers(http.NewCrossOriginProtection().Handler(mux))
}

// headers sets the shop's security headers. Its pages have no script at
// all, and their forms post to the shop or to the gateway only (the
// transparent redirect's card form is the page a merchant in SAQ A-EP
// must guard). Results carry the signed outcome in their URL: no
// referrer, no caching.
func (s *Shop) headers(next http.Handler) http.Handler {
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	if u, err := url.Parse(s.GatewayURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		csp += " " + u.Scheme + "://" + u.Host
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Shop) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// customerMessage is what the customer may read of a failed API call:
// the gateway's sentence for an answer it refused, a plain one when it
// could not be reached.
func customerMessage(err error) string {
	var e *client.Error
	if errors.As(err, &e) && e.Message != "" && e.Status < 500 {
		return e.Message
	}
	return "The payment gateway could not be reached. Please try again in a moment."
}
