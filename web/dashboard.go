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

// Dashboard serves the merchant dashboard under /dashboard/ (issue 12):
// server-rendered pages for a merchant's signed-in users, with the same
// security headers as the payment page and no script at all. Mount it for
// "/dashboard/" and "/dashboard" beside Handler.
//
// Every request passes through the same middleware: a request id, the
// security headers, recovery from a panic, the signed-in user from the
// session cookie (signedIn), and on every POST a same-origin check and a
// CSRF token bound to the session (csrf.go's HMAC, dashboard_access.go).
// Pages choose who may see them with require.
type Dashboard struct {
	Gateway *paygate.Gateway
	Logger  *slog.Logger
	// CSRFKey keys the forms' CSRF tokens: at least 32 bytes, the same on
	// every node (derive it from the master key).
	CSRFKey []byte
	// TLS says the dashboard is served over https: the cookies are then
	// Secure (and __Host- prefixed) and pages carry HSTS.
	TLS bool
	// The dashboard's users, their sessions, the audit log and the
	// password hasher (package passwd). Without Users no one can sign in
	// (page tests sign in with SignInForTest).
	Users     paygate.UserStore
	Sessions  paygate.DashSessionStore
	Audit     paygate.AuditStore
	Passwords paygate.PasswordHasher
	// Idempotency claims the Virtual Terminal's one-time form tokens, so
	// that a form submitted twice charges once (nil: not claimed).
	Idempotency paygate.IdempotencyStore
	// PublicURL is the base of the links the dashboard hands out (a new
	// user's set-password link); "": the request's host.
	PublicURL string

	once sync.Once
	mux  http.Handler

	testMu       sync.Mutex
	testSessions map[string]*signIn // SignInForTest: cookie value → who
}

// dashRoute is one entry of the route table.
type dashRoute struct {
	pattern string
	handler http.Handler
}

// routes is the dashboard's route table: every page, who may use it.
// Routes without require are open to anyone (sign-in and its steps).
func (d *Dashboard) routes() []dashRoute {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []dashRoute{
		{"GET /dashboard/assets/{name}", h(d.asset)},
		{"GET /dashboard/login", h(d.loginPage)},
		{"POST /dashboard/login", h(d.login)},
		{"GET /dashboard/login/totp", h(d.totpPage)},
		{"POST /dashboard/login/totp", h(d.totpLogin)},
		{"POST /dashboard/logout", h(d.logout)},
		{"GET /dashboard/set-password", h(d.setPasswordPage)},
		{"POST /dashboard/set-password", h(d.setPassword)},
		{"GET /dashboard/account/totp", d.signedInOnly(d.enrolPage)},
		{"POST /dashboard/account/totp", d.signedInOnly(d.enrol)},
		{"GET /dashboard/account/totp/qr.png", d.signedInOnly(d.enrolQR)},
		{"GET /dashboard/account", d.require(paygate.PermView, d.account)},
		{"POST /dashboard/account/password", d.require(paygate.PermView, d.changePassword)},
		{"POST /dashboard/account/recovery-codes", d.require(paygate.PermView, d.regenerateCodes)},
		{"GET /dashboard/users", d.require(paygate.PermUsers, d.usersPage)},
		{"POST /dashboard/users", d.require(paygate.PermUsers, d.invite)},
		{"POST /dashboard/users/{id}", d.require(paygate.PermUsers, d.updateUser)},
		{"GET /dashboard/audit", d.require(paygate.PermAudit, d.auditPage)},

		{"GET /dashboard/{$}", d.require(paygate.PermView, d.overview)},
		{"GET /dashboard/payments", d.require(paygate.PermView, d.paymentsPage)},
		{"GET /dashboard/payments.csv", d.require(paygate.PermView, d.paymentsCSV)},
		{"GET /dashboard/payments/{id}", d.require(paygate.PermView, d.paymentPage)},
		{"GET /dashboard/receipts/{id}", d.require(paygate.PermView, d.receiptPage)},
		{"GET /dashboard/payments/{id}/{action}", d.require(paygate.PermPaymentActions, d.confirmPage)},
		{"POST /dashboard/payments/{id}/{action}", d.require(paygate.PermPaymentActions, d.doAction)},
		{"GET /dashboard/terminal", d.require(paygate.PermTerminal, d.terminalPage)},
		{"POST /dashboard/terminal", d.require(paygate.PermTerminal, d.terminalPay)},

		// Settings (settings*.go): admins only.
		{"GET /dashboard/settings", d.require(paygate.PermSettings, d.settingsPage)},
		{"POST /dashboard/settings", d.require(paygate.PermSettings, d.saveSettings)},
		{"GET /dashboard/settings/rotate/{what}", d.require(paygate.PermKeys, d.rotateConfirm)},
		{"POST /dashboard/settings/rotate/{what}", d.require(paygate.PermKeys, d.rotate)},
		{"GET /dashboard/settings/keys", d.require(paygate.PermKeys, d.keysPage)},
		{"POST /dashboard/settings/keys", d.require(paygate.PermKeys, d.createKey)},
		{"GET /dashboard/settings/keys/{id}/revoke", d.require(paygate.PermKeys, d.revokeKeyConfirm)},
		{"POST /dashboard/settings/keys/{id}/revoke", d.require(paygate.PermKeys, d.revokeKey)},
		{"GET /dashboard/settings/webhooks", d.require(paygate.PermSettings, d.webhooksPage)},
		{"POST /dashboard/settings/webhooks", d.require(paygate.PermKeys, d.createWebhook)},
		{"GET /dashboard/settings/webhooks/{id}", d.require(paygate.PermSettings, d.webhookPage)},
		{"GET /dashboard/settings/webhooks/{id}/{action}", d.require(paygate.PermKeys, d.webhookConfirm)},
		{"POST /dashboard/settings/webhooks/{id}/{action}", d.require(paygate.PermKeys, d.webhookDo)}, // disable, rotate, redeliver
		// ops: batches, deposits, the mail outbox.
		{"GET /dashboard/batches", d.require(paygate.PermView, d.batchesPage)},
		{"GET /dashboard/batches/{id}", d.require(paygate.PermView, d.batchPage)},
		{"GET /dashboard/batches/{id}/export.csv", d.require(paygate.PermView, d.batchCSV)},
		{"GET /dashboard/batches/{id}/close", d.require(permSettle, d.batchConfirmPage)},
		{"POST /dashboard/batches/{id}/close", d.require(permSettle, d.doBatchAction)},
		{"GET /dashboard/batches/{id}/resend", d.require(permSettle, d.batchConfirmPage)},
		{"POST /dashboard/batches/{id}/resend", d.require(permSettle, d.doBatchAction)},
		{"GET /dashboard/batches/{id}/accept", d.require(permSettle, d.batchConfirmPage)},
		{"POST /dashboard/batches/{id}/accept", d.require(permSettle, d.doBatchAction)},
		{"GET /dashboard/deposits", d.require(paygate.PermView, d.depositsPage)},
		{"GET /dashboard/deposits/{id}/statement.csv", d.require(paygate.PermView, d.depositCSV)},
		{"GET /dashboard/outbox", d.require(paygate.PermView, d.outboxPage)},
		{"GET /dashboard/outbox/{id}", d.require(paygate.PermView, d.mailPage)},
	}
}

// ServeHTTP serves a request (the routes are built on the first one).
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.once.Do(func() { d.mux = d.Handler() })
	d.mux.ServeHTTP(w, r)
}

// Handler returns the routes with their middleware. It panics on a wiring
// mistake (no Gateway, a short CSRFKey).
func (d *Dashboard) Handler() http.Handler {
	if len(d.CSRFKey) < 32 {
		panic("web: Dashboard.CSRFKey must be at least 32 bytes")
	}
	if d.Gateway == nil {
		panic("web: Dashboard has no Gateway")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	allow := map[string]string{}
	var paths []string
	for _, rt := range d.routes() {
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
			d.message(w, r, http.StatusMethodNotAllowed, "This page cannot be used that way", "Go back and try again from the dashboard.")
		})
	}
	mux.HandleFunc("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/dashboard/", d.notFound)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(d.csrfRefused))
	return d.withBase(d.withRecover(cop.Handler(d.withSignIn(d.withCSRF(routed(mux))))))
}

// withBase gives the request an id (the API server's when mounted there)
// and sets the security headers.
func (d *Dashboard) withBase(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := w.Header().Get("Request-Id")
		if id == "" {
			id = "req_" + paygate.RandomToken(20)
			w.Header().Set("Request-Id", id)
		}
		securityHeaders(w, d.TLS)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		next.ServeHTTP(w, r)
	})
}

// withRecover turns a panic into the "Something went wrong" page.
func (d *Dashboard) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				d.Logger.Error("panic", paygate.LogRequestID, requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				d.somethingWrong(w, r)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// internalError logs err once, under the request id, and shows the
// "Something went wrong" page.
func (d *Dashboard) internalError(w http.ResponseWriter, r *http.Request, err error) {
	d.Logger.Error("internal error", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, paygate.RedactPANs(err.Error()))
	d.somethingWrong(w, r)
}

func (d *Dashboard) somethingWrong(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusInternalServerError, "message", messageData{
		Heading:   "Something went wrong",
		Text:      []string{"We could not complete your request. Please try again in a moment."},
		RequestID: requestID(r.Context()),
	})
}

func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.message(w, r, http.StatusNotFound, "Page not found", "There is no such page in the dashboard.")
}

// forbidden is the page of a signed-in user whose role does not allow what
// they asked for.
func (d *Dashboard) forbidden(w http.ResponseWriter, r *http.Request) {
	d.message(w, r, http.StatusForbidden, "You do not have access to this page",
		"Your role does not allow this. Ask an administrator of your account if you need it.")
}

// csrfRefused is the answer to a POST from another site or without a valid
// token.
func (d *Dashboard) csrfRefused(w http.ResponseWriter, r *http.Request) {
	d.message(w, r, http.StatusForbidden, "This request was refused",
		"The form was not sent from this dashboard page, or it has expired, so nothing was changed. Open the page again and retry.")
}
