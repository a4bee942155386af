package iso8583

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// Link carries one packed request to the acquirer and returns its packed
// answer. In process it is a function call; later it is a TCP connection.
type Link interface {
	RoundTrip(ctx context.Context, msg []byte) ([]byte, error)
}

// LinkFunc adapts a function to a Link, e.g. LinkFunc(bank.Handle).
type LinkFunc func(ctx context.Context, msg []byte) ([]byte, error)

// RoundTrip calls f.
func (f LinkFunc) RoundTrip(ctx context.Context, msg []byte) ([]byte, error) { return f(ctx, msg) }

// Client is the gateway's acquirer: it sends requests as ISO 8583 messages
// over a Link.
type Client struct {
	link    Link
	timeout time.Duration
}

var _ paygate.Acquirer = (*Client)(nil)

// A Client is also the gateway's Settler (settle.go).

// NewClient returns a Client that waits at most timeout for each answer;
// timeout <= 0 leaves only the caller's deadline.
func NewClient(link Link, timeout time.Duration) *Client {
	return &Client{link: link, timeout: timeout}
}

// Send packs req, sends it and returns the answer. When no answer came in
// time (or the caller gave up), the error wraps paygate.ErrNetworkTimeout:
// the outcome is unknown and the request must be reversed. Errors never
// contain card data.
func (c *Client) Send(ctx context.Context, req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
	var f fieldSet
	if err := f.request(req); err != nil {
		return paygate.NetworkResponse{}, err
	}
	raw, err := c.roundTrip(ctx, &f, req.Kind.String())
	if err != nil {
		return paygate.NetworkResponse{}, err
	}
	resp, mti, stan, err := UnpackResponse(raw)
	if err != nil {
		return paygate.NetworkResponse{}, fmt.Errorf("iso8583: answer to %s stan %s: %w", f.mti, f.v[11], err)
	}
	if want := paygate.ResponseMTI(f.mti); mti != want || stan != f.v[11] {
		return paygate.NetworkResponse{}, fmt.Errorf("iso8583: answer %q stan %q does not match %s stan %s", mti, stan, f.mti, f.v[11])
	}
	if resp.RRN == "" {
		resp.RRN = req.RRN
	}
	return resp, nil
}

// roundTrip packs f, sends it and returns the packed answer, with the
// errors Send documents; what names the message in them.
func (c *Client) roundTrip(ctx context.Context, f *fieldSet, what string) ([]byte, error) {
	msg, err := f.pack()
	if err != nil {
		return nil, err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	raw, err := c.link.RoundTrip(ctx, msg)
	if err != nil {
		switch {
		case errors.Is(err, paygate.ErrNetworkTimeout):
			// Written, and then no answer (a connection lost or closed
			// under the request, even by the link's own Close): in doubt.
			return nil, fmt.Errorf("iso8583: %s %s stan %s: %w", f.mti, what, f.v[11], err)
		case errors.Is(err, ErrLinkDown) || errors.Is(err, ErrLinkClosed):
			// No connection was up: the message was never written.
			return nil, fmt.Errorf("iso8583: %s %s stan %s: %w: %w", f.mti, what, f.v[11], paygate.ErrNotSent, err)
		case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("iso8583: %s %s stan %s: %w", f.mti, what, f.v[11], paygate.ErrNetworkTimeout)
		case errors.Is(err, context.Canceled), ctx.Err() != nil:
			return nil, fmt.Errorf("iso8583: %s %s stan %s: %w: %w", f.mti, what, f.v[11], paygate.ErrNetworkTimeout, context.Canceled)
		}
		return nil, fmt.Errorf("iso8583: %s %s stan %s: %w", f.mti, what, f.v[11], err)
	}
	return raw, nil
}
