package client

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults used by New.
const (
	DefaultMaxRetries = 2
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
	DefaultUserAgent  = "paygate-go/1"
)

const (
	maxKeyLen        = 255              // longest Idempotency-Key the server accepts
	maxResponseBytes = 32 << 20         // cap on a response body we will read
	maxRetryAfter    = time.Minute      // a longer Retry-After is returned to the caller instead
	defaultTimeout   = 60 * time.Second // per attempt, when the caller gives no *http.Client
)

// Client calls a paygate server. It is safe for concurrent use.
type Client struct {
	baseURL string
	// key sits behind a pointer so that printing a Client with %v shows an
	// address, never the secret key.
	key        *string
	http       *http.Client
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration
	userAgent  string
}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through h (for its
// transport, proxy or timeout). The default has a 60 second timeout.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithMaxRetries sets how many times a failed request is retried (after the
// first attempt). Zero turns retries off; the default is 2.
func WithMaxRetries(n int) Option {
	return func(c *Client) { c.maxRetries = max(n, 0) }
}

// WithBackoff sets the bounds of the exponential backoff between retries:
// the n-th retry waits about first·2ⁿ⁻¹ (half of it random), never more
// than limit. A Retry-After from the server lengthens the wait. The
// defaults are 500ms and 8s.
func WithBackoff(first, limit time.Duration) Option {
	return func(c *Client) {
		c.minBackoff = first
		c.maxBackoff = limit
	}
}

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080") that authenticates with secretKey ("sk_...").
func New(baseURL, secretKey string, opts ...Option) *Client {
	c := &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		key:        &secretKey,
		http:       &http.Client{Timeout: defaultTimeout},
		maxRetries: DefaultMaxRetries,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		userAgent:  DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// get fetches path (with query) into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, "", out)
}

// post sends body as JSON to path under the idempotency key (a fresh one
// when key is empty) and decodes the answer into out.
func (c *Client) post(ctx context.Context, path string, body any, key string, out any) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("paygate: idempotency key is %d characters, the limit is %d", len(key), maxKeyLen)
	}
	if key == "" {
		key = newIdempotencyKey()
	}
	return c.do(ctx, http.MethodPost, path, nil, body, key, out)
}

// do makes the request, retrying what is safe to retry. Every attempt sends
// the same body and the same idempotency key, so the server performs a POST
// at most once however many times it is sent.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, key string, out any) error {
	var payload []byte
	if method == http.MethodPost {
		payload = []byte("{}")
		if body != nil {
			var err error
			if payload, err = json.Marshal(body); err != nil {
				return fmt.Errorf("paygate: encode request: %w", err)
			}
		}
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		retry, after, err := c.once(ctx, method, u, payload, key, out)
		if err == nil || !retry || attempt >= c.maxRetries {
			return err
		}
		wait := max(c.backoff(attempt), after)
		if after > maxRetryAfter {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err // the wait would outlive the caller
		}
		if cerr := sleep(ctx, wait); cerr != nil {
			return fmt.Errorf("paygate: %w; last attempt: %w", cerr, err)
		}
	}
}

// once makes a single attempt. It reports whether a failure may be retried
// and how long the server asked us to wait first (Retry-After).
func (c *Client) once(ctx context.Context, method, u string, payload []byte, key string, out any) (retry bool, after time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return false, 0, fmt.Errorf("paygate: %w", err)
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return false, 0, fmt.Errorf("paygate: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+*c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return ctx.Err() == nil && transient(err), 0, fmt.Errorf("paygate: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return ctx.Err() == nil, 0, fmt.Errorf("paygate: read %s %s response: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return false, 0, fmt.Errorf("paygate: decode %s %s response: %w", method, req.URL.Path, err)
			}
		}
		return false, 0, nil
	}
	e := decodeError(resp, data)
	// A replayed answer is the stored outcome of this very request: asking
	// again would only replay it again.
	replayed := resp.Header.Get("Idempotent-Replayed") == "true"
	return e.retryable() && !replayed, retryAfter(resp.Header.Get("Retry-After")), e
}

// transient reports whether err from http.Client.Do is a network failure
// worth another attempt: a refused or reset connection, a timeout, a
// connection closed before the answer arrived. Certificate and protocol
// errors are not.
func transient(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // *url.Error is itself a net.Error; look inside it
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// backoff returns the wait before retry number n+1: exponential, capped,
// with "equal jitter" (half fixed, half random) so that clients that failed
// together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.minBackoff
	for i := 0; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newIdempotencyKey returns 128 random bits as 32 hex characters.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:]) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b[:])
}
