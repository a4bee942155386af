package http

import (
	"net/http"
	"time"

	"github.com/paygate/paygate"
)

// webhookEndpointJSON is a webhook endpoint as the API shows it: never its
// secret.
type webhookEndpointJSON struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Status    string   `json:"status"`
	Failures  int      `json:"failures"`
	LastError string   `json:"last_error,omitempty"`
	// PreviousSecretExpiresAt, during a rotation's overlap, is when the
	// replaced secret stops signing.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               *time.Time `json:"created_at,omitempty"`
	UpdatedAt               *time.Time `json:"updated_at,omitempty"`
}

// webhookEndpointSecretJSON is the answer that shows an endpoint's new
// secret, the one time it is shown: creating the endpoint or rotating it.
type webhookEndpointSecretJSON struct {
	webhookEndpointJSON
	Secret string `json:"secret"`
}

func (s *Server) newWebhookEndpointJSON(e *paygate.WebhookEndpoint) webhookEndpointJSON {
	out := webhookEndpointJSON{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Events: e.Events, Status: e.Status,
		Failures: e.Failures, LastError: e.LastError, CreatedAt: timePtr(e.CreatedAt), UpdatedAt: timePtr(e.UpdatedAt)}
	if out.Events == nil {
		out.Events = []string{}
	}
	if e.PrevSecretInForce(s.Gateway.Clock.Now()) {
		out.PreviousSecretExpiresAt = timePtr(e.PrevExpiresAt)
	}
	return out
}

type webhookEndpointRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// createWebhookEndpoint serves POST /v1/webhook_endpoints: not kept under
// an Idempotency-Key (withoutIdempotency), since its answer holds the
// secret.
func (s *Server) createWebhookEndpoint(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req webhookEndpointRequest
	if err := decode(body, &req, false); err != nil {
		return nil, err
	}
	e, secret, err := s.Gateway.CreateEndpoint(r.Context(), m, req.URL, req.Events)
	if err != nil {
		return nil, err
	}
	return webhookEndpointSecretJSON{s.newWebhookEndpointJSON(e), secret}, nil
}

func (s *Server) listWebhookEndpoints(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	list, err := s.Gateway.Endpoints(r.Context(), m)
	if err != nil {
		return nil, err
	}
	data := make([]webhookEndpointJSON, 0, len(list))
	for _, e := range list {
		data = append(data, s.newWebhookEndpointJSON(e))
	}
	return listJSON{Object: "list", Data: data}, nil
}

func (s *Server) getWebhookEndpoint(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	e, err := s.Gateway.Endpoint(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.newWebhookEndpointJSON(e), nil
}

func (s *Server) deleteWebhookEndpoint(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	e, err := s.Gateway.DeleteEndpoint(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.newWebhookEndpointJSON(e), nil
}

// rotateWebhookSecret serves POST /v1/webhook_endpoints/{id}/secret: not
// kept under an Idempotency-Key either.
func (s *Server) rotateWebhookSecret(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	e, secret, err := s.Gateway.RotateEndpointSecret(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return webhookEndpointSecretJSON{s.newWebhookEndpointJSON(e), secret}, nil
}
