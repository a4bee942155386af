package webhook

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// MaxRecorded is how much of a receiver's answer a post-back reads: the
// start of it, kept with the attempt for the merchant to see. The rest is
// not read.
const MaxRecorded = 1 << 10

// Poster posts post-backs (Standard Webhooks) to merchants' endpoints with
// the guards of Client: http and https only, bounded in time (Timeout, for
// the whole exchange), no redirects followed (a 3xx is the answer, which is
// not a 2xx), no proxy from the environment, and no connection to an
// address CheckAddr refuses unless AllowPrivate. It reads at most
// MaxRecorded bytes of the answer. The zero value is ready to use; set the
// fields before the first Post. Safe for concurrent use.
//
// Its errors start with "POST" and the URL without its query (which may
// hold a token of the merchant's) and say what happened: "refused:
// 10.0.0.5 is a private address", "timed out after 15s".
type Poster struct {
	// AllowPrivate lets the poster connect to loopback and private
	// addresses: for development only (serve --allow-private-targets).
	AllowPrivate bool
	Timeout      time.Duration // 0: paygate.WebhookTimeout

	once sync.Once
	http *http.Client
}

var _ paygate.Poster = (*Poster)(nil)

func (p *Poster) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return paygate.WebhookTimeout
}

func (p *Poster) init() { p.http = newHTTPClient(p.AllowPrivate, p.timeout()) }

// Post sends wp: a POST of its body as application/json with the headers
// webhook-id, webhook-timestamp and webhook-signature. It returns the
// answer, whatever its status, its body cut at MaxRecorded bytes.
func (p *Poster) Post(ctx context.Context, wp paygate.WebhookPost) (*paygate.FetchResult, error) {
	p.once.Do(p.init)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", wp.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(wp.Timestamp, 10))
	h.Set("webhook-signature", wp.Signature)
	body := wp.Body
	if body == nil {
		body = []byte{}
	}
	return exchange(ctx, p.http, request{method: http.MethodPost, url: wp.URL, header: h, body: body,
		timeout: p.timeout(), limit: MaxRecorded, truncate: true})
}
