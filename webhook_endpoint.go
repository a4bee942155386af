package paygate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxWebhookEndpoints bounds a merchant's endpoints that are not disabled.
const MaxWebhookEndpoints = 16

// CheckTarget, when set on a Gateway, resolves a host a merchant asks the
// gateway to post to and returns an error, in words the merchant may read
// ("refused: 10.0.0.5 is a private address"), if it must not: a loopback,
// private, link-local or metadata address. Package webhook provides it
// (webhook.CheckHost); nil checks nothing (serve --allow-private-targets).
// The poster checks again when it connects.
type CheckTarget func(ctx context.Context, host string) error

// CreateEndpoint registers a webhook endpoint for the merchant: url (https,
// or http for localhost and loopback addresses, to develop on), events (the
// types it takes; none or ["*"] for every type). It returns the endpoint
// and its signing secret ("whsec_..."), the one time the secret is shown.
func (g *Gateway) CreateEndpoint(ctx context.Context, m *Merchant, rawURL string, events []string) (*WebhookEndpoint, string, error) {
	if g.Webhooks == nil {
		return nil, "", fmt.Errorf("no webhook store")
	}
	target, err := g.checkEndpointURL(ctx, rawURL)
	if err != nil {
		return nil, "", err
	}
	types, err := endpointEvents(events)
	if err != nil {
		return nil, "", err
	}
	list, err := g.Webhooks.Endpoints(ctx, m.ID)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook endpoints: %w", err)
	}
	n := 0
	for _, e := range list {
		if e.Status != EndpointDisabled {
			n++
		}
	}
	if n >= MaxWebhookEndpoints {
		return nil, "", Errorf(ECONFLICT, "A merchant may have at most %d webhook endpoints; delete one first.", MaxWebhookEndpoints)
	}
	secret := NewSigningSecret()
	sealed, err := g.Vault.Seal(secret)
	if err != nil {
		return nil, "", fmt.Errorf("seal webhook secret: %w", err)
	}
	now := g.now()
	e := &WebhookEndpoint{ID: NewID("we", now), MerchantID: m.ID, URL: target, Events: types, Secret: sealed,
		Status: EndpointEnabled, CreatedAt: now, UpdatedAt: now}
	if err := g.Webhooks.CreateEndpoint(ctx, e); err != nil {
		return nil, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	return e, secret, nil
}

// checkEndpointURL checks and normalizes an endpoint's URL: absolute, https
// (http only for localhost and loopback addresses), no user or password,
// no fragment, and a host CheckTarget accepts.
func (g *Gateway) checkEndpointURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ParamErrorf(EMISSING, "url", "URL is required: where the gateway posts events, such as https://shop.example.com/webhooks.")
	}
	if len(raw) > 2000 {
		return "", ParamErrorf(EINVALID, "url", "URL must be at most 2000 characters.")
	}
	if _, err := urlOrigin(raw); err != nil {
		return "", ParamErrorf(EINVALID, "url",
			"URL must be an absolute https URL such as https://shop.example.com/webhooks (http only for localhost), without a user or password.")
	}
	u, _ := url.Parse(raw) // urlOrigin parsed it
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", ParamErrorf(EINVALID, "url", "URL must not have a fragment (#...): it is never sent.")
	}
	if err := CheckFreeText("url", raw); err != nil {
		return "", err
	}
	if g.CheckTarget != nil {
		if err := g.CheckTarget(ctx, u.Hostname()); err != nil {
			return "", ParamErrorf(EINVALID, "url", "URL cannot take post-backs: %s.", sanitize(err.Error(), 200))
		}
	}
	return raw, nil
}

// endpointEvents checks the event types an endpoint takes: known types,
// each once, or "*" alone for every type (also when none are given).
func endpointEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return []string{"*"}, nil
	}
	var out []string
	for _, t := range events {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			if len(events) > 1 {
				return nil, ParamErrorf(EINVALID, "events", "Events must be [\"*\"] alone, or a list of event types.")
			}
		case !slices.Contains(EventTypes, t):
			return nil, ParamErrorf(EINVALID, "events", "Event type %q is not one of %s, or \"*\".",
				sanitize(t, 40), strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Endpoint returns one of the merchant's webhook endpoints.
func (g *Gateway) Endpoint(ctx context.Context, m *Merchant, id string) (*WebhookEndpoint, error) {
	if g.Webhooks == nil {
		return nil, fmt.Errorf("no webhook store")
	}
	return g.Webhooks.Endpoint(ctx, m.ID, id)
}

// Endpoints lists the merchant's webhook endpoints, disabled ones
// included, oldest first.
func (g *Gateway) Endpoints(ctx context.Context, m *Merchant) ([]*WebhookEndpoint, error) {
	if g.Webhooks == nil {
		return nil, fmt.Errorf("no webhook store")
	}
	return g.Webhooks.Endpoints(ctx, m.ID)
}

// DeleteEndpoint disables one of the merchant's endpoints: its deliveries
// stop (it stays listed, disabled, with its deliveries and attempts).
func (g *Gateway) DeleteEndpoint(ctx context.Context, m *Merchant, id string) (*WebhookEndpoint, error) {
	return g.changeEndpoint(ctx, m.ID, id, func(e *WebhookEndpoint) (bool, error) {
		if e.Status == EndpointDisabled {
			return false, nil
		}
		e.Status = EndpointDisabled
		return true, nil
	})
}

// RotateEndpointSecret gives an endpoint a new signing secret and returns
// it, the one time it is shown. The secret it replaces keeps signing for
// WebhookSecretOverlap (each post-back then carries both signatures), time
// for the receiver to deploy the new one.
func (g *Gateway) RotateEndpointSecret(ctx context.Context, m *Merchant, id string) (*WebhookEndpoint, string, error) {
	secret := NewSigningSecret()
	sealed, err := g.Vault.Seal(secret)
	if err != nil {
		return nil, "", fmt.Errorf("seal webhook secret: %w", err)
	}
	e, err := g.changeEndpoint(ctx, m.ID, id, func(e *WebhookEndpoint) (bool, error) {
		if e.Status == EndpointDisabled {
			return false, Errorf(ECONFLICT, "The webhook endpoint %s is disabled: create a new one.", e.ID)
		}
		e.PrevSecret, e.PrevExpiresAt = e.Secret, g.now().Add(WebhookSecretOverlap)
		e.Secret = sealed
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// changeEndpoint loads an endpoint, lets change modify it and, if it says
// so, saves it.
func (g *Gateway) changeEndpoint(ctx context.Context, merchantID, id string, change func(*WebhookEndpoint) (bool, error)) (*WebhookEndpoint, error) {
	if g.Webhooks == nil {
		return nil, fmt.Errorf("no webhook store")
	}
	e, err := g.Webhooks.Endpoint(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	changed, err := change(e)
	if err != nil || !changed {
		return e, err
	}
	e.UpdatedAt = g.now()
	if err := g.Webhooks.UpdateEndpoint(ctx, e); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("update webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// PrevSecretInForce reports whether the secret the last rotation replaced
// still signs at now.
func (e *WebhookEndpoint) PrevSecretInForce(now time.Time) bool {
	return len(e.PrevSecret.Ciphertext) > 0 && now.Before(e.PrevExpiresAt)
}

// EndpointDeliveries returns the delivery log of one of the merchant's
// endpoints: its latest deliveries, newest first (at most limit), and
// their attempts, oldest first.
func (g *Gateway) EndpointDeliveries(ctx context.Context, m *Merchant, id string, limit int) ([]*WebhookDelivery, []*WebhookAttempt, error) {
	if _, err := g.Endpoint(ctx, m, id); err != nil {
		return nil, nil, err
	}
	ds, as, err := g.Webhooks.EndpointDeliveries(ctx, m.ID, id, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("list deliveries of %s: %w", id, err)
	}
	return ds, as, nil
}
