// Package webhook makes the gateway's own requests to merchants' sites:
// the Web Proxy model's GET (Client) and post-backs (Poster). It is the one HTTP
// client that may reach a URL a merchant chose, so it is guarded against
// server-side request forgery: it connects only to public addresses,
// checked on the address it actually dials (after DNS), so that a name
// which resolves, or later re-resolves, to a private address fails too.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paygate/paygate"
)

// Defaults of a Client's zero fields.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMaxBody = 1 << 20 // 1 MiB
)

// UserAgent is sent with every request.
const UserAgent = "paygate"

const maxHeaderBytes = 64 << 10

// Client fetches merchants' URLs for the gateway: GET only, http and https
// only, bounded in time (Timeout, for the whole exchange) and size
// (MaxBody), no redirects followed (a 3xx is returned as the answer, which
// is not a 2xx), no proxy from the environment, and no connection to an
// address CheckAddr refuses unless AllowPrivate. The zero value is ready to
// use; set the fields before the first Fetch. Safe for concurrent use.
//
// Its errors name the URL without its query, which carries the signed
// result, and say what happened: "refused: 10.0.0.5 is a private address",
// "timed out after 10s", "answer larger than 1 MiB".
type Client struct {
	// AllowPrivate lets the client connect to loopback and private
	// addresses: for development only (serve --allow-private-targets),
	// when the merchant's site runs on the same machine or network.
	AllowPrivate bool
	Timeout      time.Duration // 0: DefaultTimeout
	MaxBody      int64         // 0: DefaultMaxBody

	once sync.Once
	http *http.Client
}

var _ paygate.Fetcher = (*Client)(nil)

func (c *Client) init() { c.http = newHTTPClient(c.AllowPrivate, c.timeout()) }

// newHTTPClient returns the guarded client that Client and Poster share:
// no proxy from the environment, no redirects followed, and, unless
// allowPrivate, no connection to an address CheckAddr refuses.
func newHTTPClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = control
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // never a proxy from HTTP_PROXY and the like: it would dial for us, unguarded
			DialContext:            d.DialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    timeout,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: maxHeaderBytes,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// control runs on every address the dialer is about to connect to, after
// the name was resolved and before the connection is attempted.
func control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: cannot check the address %q", address)
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return err
	}
	if testHookDial != nil {
		return testHookDial(address)
	}
	return nil
}

// testHookDial, set by tests, sees every address that passed the guard.
var testHookDial func(address string) error

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

// Fetch GETs rawURL and returns the answer, whatever its status.
func (c *Client) Fetch(ctx context.Context, rawURL string) (*paygate.FetchResult, error) {
	c.once.Do(c.init)
	return exchange(ctx, c.http, request{method: http.MethodGet, url: rawURL, timeout: c.timeout(), limit: c.maxBody()})
}

// request is one exchange with a merchant's site.
type request struct {
	method  string
	url     string
	header  http.Header
	body    []byte
	timeout time.Duration
	// limit bounds the answer read: beyond it, an error, or with
	// truncate the answer cut at limit (the rest is not read).
	limit    int64
	truncate bool
}

// exchange makes the request with hc and returns the answer, whatever its
// status. Its errors start with the method and the URL without its query
// ("POST https://shop.example.com/hooks: ...").
func exchange(ctx context.Context, hc *http.Client, x request) (*paygate.FetchResult, error) {
	u, err := url.Parse(x.url)
	if err != nil {
		return nil, fmt.Errorf("%s: the URL does not parse", x.method)
	}
	where := x.method + " " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.RawQuery, "…") // in case an error deep down quoted the URL
		}
		return fmt.Errorf("%s: %s", where, msg)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		verb := "fetched"
		if x.method == http.MethodPost {
			verb = "posted to"
		}
		return nil, fail("only http and https URLs can be %s", verb)
	}
	if u.Host == "" {
		return nil, fail("the URL has no host")
	}

	tctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	// explain turns a failure into what happened, without the URL's query.
	explain := func(err error) error {
		var ae *AddrError
		switch {
		case errors.As(err, &ae):
			return &fetchError{where + ": " + ae.Error(), ae}
		case ctx.Err() != nil:
			return &fetchError{where + ": " + ctx.Err().Error(), ctx.Err()}
		case tctx.Err() != nil:
			return &fetchError{fmt.Sprintf("%s: timed out after %s", where, x.timeout), tctx.Err()}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the whole URL
		}
		return &fetchError{fail("%s", err).Error(), err}
	}
	var body io.Reader
	if x.body != nil {
		body = bytes.NewReader(x.body)
	}
	req, err := http.NewRequestWithContext(tctx, x.method, u.String(), body)
	if err != nil {
		return nil, explain(err)
	}
	for k, v := range x.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, explain(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, x.limit+1))
	if err != nil {
		return nil, explain(err)
	}
	if int64(len(data)) > x.limit {
		if !x.truncate {
			return nil, fail("answer larger than %s", size(x.limit))
		}
		data = data[:x.limit]
	}
	return &paygate.FetchResult{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: data}, nil
}

// fetchError is a Fetch failure: its text names the URL without the query
// (what Error returns is all that is ever printed), and it wraps the cause
// for errors.Is and errors.As.
type fetchError struct {
	msg string
	err error
}

func (e *fetchError) Error() string { return e.msg }
func (e *fetchError) Unwrap() error { return e.err }

// size writes n bytes the way people read it: 1 MiB, 64 KiB, 1000 bytes.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
