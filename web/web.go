// Package web serves what a customer's browser sees of the hosted payment
// (issue 9): the payment page a session's SecureID opens, the signed form a
// merchant's page may post to start one, the pages that say how a session
// ended, and the merchant's page relayed in the Web Proxy model.
//
// Every page is rendered on the server from embedded html/template files
// (template/) with one embedded stylesheet (static/); there is no script at
// all, so the pages work without JavaScript and the Content-Security-Policy
// forbids every script. Each submit claims the session in the domain
// (paygate.Gateway.PaySession), so a double click, a refresh or the back
// button never pays twice. Card numbers and CVCs are read from the posted
// form only, passed to the gateway and dropped: they never reach a log
// line, a URL or a page.
//
// Routes (mount the handler for "/pay", "/pay/", "/tr" and "/assets/"):
//
//	GET  /pay/{id}           the payment page, or what became of the session
//	POST /pay/{id}           the card form (CSRF token)
//	POST /pay/{id}/cancel    back to the merchant without paying (CSRF token)
//	GET  /pay/{id}/continue  the session's result to the merchant again: where
//	                         the "being processed" page goes once it is done
//	GET  /pay/{id}/receipt   the gateway's receipt
//	GET|POST /pay            a merchant's signed form: opens a session
//	POST /tr                 a merchant's transparent redirect form (seed 003,
//	                         tr.go): 303 to its success or decline URL
//	GET  /assets/{name}      the stylesheet (names carry a hash: cached for good)
package web

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/paygate/paygate"
)

// MaxFormBytes bounds a posted form.
const MaxFormBytes = 64 << 10

// Handler serves the pages. Set the fields, then use it as an http.Handler.
type Handler struct {
	Gateway *paygate.Gateway
	Logger  *slog.Logger
	// CSRFKey keys the tokens of the card and cancel forms (an HMAC of the
	// session id): at least 32 bytes, the same on every node (derive it
	// from the master key).
	CSRFKey []byte
	// TLS says the pages are served over https: they then carry
	// Strict-Transport-Security.
	TLS bool

	once sync.Once
	mux  http.Handler
}

// ServeHTTP serves a request (the routes are built on the first one).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() { h.mux = h.Handler() })
	h.mux.ServeHTTP(w, r)
}

// Handler returns the routes with their middleware. It panics if CSRFKey is
// shorter than 32 bytes or Gateway is nil: a wiring mistake.
func (h *Handler) Handler() http.Handler {
	if len(h.CSRFKey) < 32 {
		panic("web: CSRFKey must be at least 32 bytes")
	}
	if h.Gateway == nil {
		panic("web: no Gateway")
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	// The card and cancel forms are posted by the gateway's own page: a
	// cross-site POST (Sec-Fetch-Site, or an Origin that is not the Host)
	// is refused before the CSRF token is even looked at. The signed form
	// (POST /pay) is cross-site by design and authenticated by its
	// signature, and the transparent redirect (POST /tr) by its hash.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.forbidden(w, r)
	}))
	mux := http.NewServeMux()
	routes := []struct {
		pattern string
		handler http.Handler
	}{
		{"GET /pay", http.HandlerFunc(h.form)},
		{"POST /pay", http.HandlerFunc(h.form)},
		{"GET /pay/{id}", http.HandlerFunc(h.page)},
		{"POST /pay/{id}", cop.Handler(http.HandlerFunc(h.pay))},
		{"POST /pay/{id}/cancel", cop.Handler(http.HandlerFunc(h.cancel))},
		{"GET /pay/{id}/continue", http.HandlerFunc(h.resume)},
		{"GET /pay/{id}/receipt", http.HandlerFunc(h.receipt)},
		{"POST /tr", http.HandlerFunc(h.transparentRedirect)},
		{"GET /assets/{name}", http.HandlerFunc(h.asset)},
	}
	allow := map[string]string{}
	var paths []string
	for _, rt := range routes {
		mux.Handle(rt.pattern, rt.handler)
		method, path, _ := strings.Cut(rt.pattern, " ")
		if _, ok := allow[path]; !ok {
			paths = append(paths, path)
			allow[path] = method
		} else {
			allow[path] += ", " + method
		}
	}
	for _, path := range paths {
		methods := allow[path]
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			h.message(w, r, http.StatusMethodNotAllowed, nil, messagePage{
				Heading: "This page cannot be used that way",
				Text:    []string{"Go back to the shop you came from and start again."},
			})
		})
	}
	mux.HandleFunc("/", h.notFound)
	return h.withRequestID(h.withRecover(routed(mux)))
}

// routed notes the pattern mux matched in the request's RequestInfo, for
// the server's metrics (the API server's mux only sees "/pay/").
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if info := paygate.RequestFrom(r.Context()); info != nil {
			info.Route = r.Pattern
		}
	})
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// withRequestID gives the request an id, the one the API server already
// gave it (its Request-Id header) when the pages are mounted there.
func (h *Handler) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := w.Header().Get("Request-Id")
		if id == "" {
			id = "req_" + paygate.RandomToken(20)
			w.Header().Set("Request-Id", id)
		}
		h.baseHeaders(w)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && cardInURL(r.URL) {
			h.refuseCardInURL(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withRecover turns a panic into the "Something went wrong" page.
func (h *Handler) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.Logger.Error("panic", paygate.LogRequestID, requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				h.message(w, r, http.StatusInternalServerError, nil, h.somethingWrong(r))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
