package http

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/paygate/paygate"
)

// route is one endpoint: a method on a path pattern.
type route struct {
	method, path string
	handler      http.HandlerFunc
}

// routes lists every endpoint the server answers.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", s.healthz},
		{"GET", "/readyz", s.ready},

		{"POST", "/v1/payments", s.api(s.createPayment)},
		{"GET", "/v1/payments", s.api(s.listPayments, listParams...)},
		{"GET", "/v1/payments/{id}", s.api(s.getPayment)},
		{"POST", "/v1/payments/{id}/capture", s.api(s.capturePayment)},
		{"POST", "/v1/payments/{id}/void", s.api(s.voidPayment)},
		{"POST", "/v1/payments/{id}/refunds", s.api(s.refundPayment)},
		{"POST", "/v1/payments/{id}/ack", s.api(s.ackPayment)},
		{"GET", "/v1/payments/{id}/trace", s.api(s.paymentTrace)},

		{"GET", "/v1/settings", s.api(s.getSettings)},
		{"POST", "/v1/settings", s.api(s.updateSettings)},
		{"POST", "/v1/settings/signing_secret", withoutIdempotency(s.api(s.rotateSigningSecret))},
		{"POST", "/v1/settings/api_accesskey", withoutIdempotency(s.api(s.rotateAccessKey))},
		{"GET", "/v1/settings/history", s.api(s.settingsHistory, "limit")},

		{"POST", "/v1/sessions", s.api(s.startSession)},
		{"GET", "/v1/sessions/{id}", s.api(s.getSession)},
		{"POST", "/v1/sessions/{id}/ack", s.api(s.ackSession)},

		{"POST", "/v1/webhook_endpoints", withoutIdempotency(s.api(s.createWebhookEndpoint))},
		{"GET", "/v1/webhook_endpoints", s.api(s.listWebhookEndpoints)},
		{"GET", "/v1/webhook_endpoints/{id}", s.api(s.getWebhookEndpoint)},
		{"DELETE", "/v1/webhook_endpoints/{id}", s.api(s.deleteWebhookEndpoint)},
		{"POST", "/v1/webhook_endpoints/{id}/secret", withoutIdempotency(s.api(s.rotateWebhookSecret))},

		{"GET", "/v1/mail", s.api(s.listMail, mailListParams...)},
		{"GET", "/v1/mail/{id}", s.api(s.getMail)},

		{"GET", "/v1/events", s.api(s.listEvents, eventListParams...)},
		{"GET", "/v1/events/{id}", s.api(s.getEvent)},
		{"GET", "/v1/events/{id}/deliveries", s.api(s.eventDeliveries)},
		{"POST", "/v1/events/{id}/redeliver", s.api(s.redeliverEvent)},

		{"GET", "/v1/batches", s.api(s.listBatches, batchListParams...)},
		{"GET", "/v1/batches/{id}", s.api(s.getBatch, batchItemParams...)},
		{"POST", "/v1/batches/{id}/close", s.api(s.closeBatch)},
		{"POST", "/v1/batches/{id}/resend", s.api(s.resendBatch)},
		{"POST", "/v1/batches/{id}/accept", s.api(s.acceptBatch)},
		{"GET", "/v1/batches/{id}/export.csv", s.download(s.exportBatch)},
		{"GET", "/v1/deposits", s.api(s.listDeposits, batchListParams...)},
		{"GET", "/v1/deposits/{id}", s.api(s.getDeposit)},
		{"GET", "/v1/deposits/{id}/statement.csv", s.download(s.depositStatement)},

		{"POST", "/v1/cards", s.api(s.createCard)},
		{"GET", "/v1/cards/{id}", s.api(s.getCard)},
	}
}

// Handler returns the whole HTTP handler: the routes, a JSON 405 with Allow
// for a known path asked with another method, a JSON 404 for any other
// path, and the middleware around them.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path → its methods
	var paths []string
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handler)
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, path := range paths {
		methods := allowed[path]
		slices.Sort(methods)
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, &paygate.Error{Code: paygate.EMETHOD,
				Message: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, sanitizePath(r.URL.Path), allow)})
		})
	}
	if s.Pages != nil {
		for _, path := range []string{"/pay", "/pay/", "/tr", "/assets/"} {
			mux.Handle(path, s.Pages)
		}
	}
	if s.Dashboard != nil {
		mux.Handle("/dashboard", s.Dashboard)
		mux.Handle("/dashboard/", s.Dashboard)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &paygate.Error{Code: paygate.ENOTFOUND,
			Message: fmt.Sprintf("Unrecognized request URL (%s %s).", r.Method, sanitizePath(r.URL.Path))})
	})
	return s.withRequestID(s.withRecover(s.withAccessLog(mux)))
}

// healthz answers that the process is up (GET /readyz says whether it can
// serve).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// withoutIdempotency serves a route whose answer must not be kept: a new
// signing secret (a merchant's, or a webhook endpoint's) or access key is
// shown once and never stored in the clear, so an Idempotency-Key is
// ignored (a retry makes another secret, and the first one still works for
// its overlap; a retried endpoint creation makes a second endpoint, which
// the merchant can delete).
func withoutIdempotency(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Idempotency-Key")
		h(w, r)
	}
}
