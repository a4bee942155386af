package http

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
)

// The Go client cannot import the server (it imports nothing of ours), so
// these tests hold the two to the same wire names.

// TestClientKnowsEveryStatus: the client names every payment and refund
// status the server reports.
func TestClientKnowsEveryStatus(t *testing.T) {
	server := make([]string, len(paygate.PaymentStatuses))
	for i, st := range paygate.PaymentStatuses {
		server[i] = string(st)
	}
	clientSide := make([]string, len(client.Statuses))
	for i, st := range client.Statuses {
		clientSide[i] = string(st)
	}
	if !slices.Equal(clientSide, server) {
		t.Errorf("client.Statuses = %q, want the server's %q", clientSide, server)
	}
	for _, tt := range []struct{ client, server string }{
		{client.RefundPending, string(paygate.RefundPending)},
		{client.RefundSucceeded, string(paygate.RefundSucceeded)},
		{client.RefundFailed, string(paygate.RefundFailed)},
	} {
		if tt.client != tt.server {
			t.Errorf("client refund status %q, want the server's %q", tt.client, tt.server)
		}
	}
}

// TestClientKnowsCodes: the error codes the client names are the server's,
// and each server error the client is meant to retry, rendered as the
// server renders it, is retried — and no other.
func TestClientKnowsCodes(t *testing.T) {
	for _, tt := range []struct{ client, server string }{
		{client.CodeCardDeclined, paygate.EDECLINED},
		{client.CodeIdempotencyInFlight, paygate.EIDEMPOTENCYBUSY},
		{client.CodeIdempotencyKeyReused, paygate.EIDEMPOTENCY},
		{client.CodeResourceBusy, paygate.EBUSY},
		{client.CodeRateLimited, paygate.ERATELIMIT},
		{client.CodeServiceUnavailable, paygate.EUNAVAILABLE},
	} {
		if tt.client != tt.server {
			t.Errorf("client code %q, want the server's %q", tt.client, tt.server)
		}
	}

	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var code atomic.Value
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		s.writeError(w, r, paygate.Errorf(code.Load().(string), "Refused."))
	}))
	defer ts.Close()
	c := client.New(ts.URL, "sk_test", client.WithMaxRetries(1), client.WithBackoff(time.Millisecond, time.Millisecond))
	for _, tt := range []struct {
		code  string
		retry bool
	}{
		{paygate.EIDEMPOTENCYBUSY, true},
		{paygate.EBUSY, true},
		{paygate.ERATELIMIT, true},
		{paygate.EUNAVAILABLE, true},
		{paygate.EINTERNAL, true},
		{paygate.EDECLINED, false},
		{paygate.EIDEMPOTENCY, false},
		{paygate.ECONFLICT, false},
		{paygate.EINVALID, false},
	} {
		code.Store(tt.code)
		calls.Store(0)
		_, err := c.GetPayment(context.Background(), "pay_1")
		var e *client.Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("%s: got %v, want a *client.Error with that code", tt.code, err)
		}
		if want := map[bool]int32{true: 2, false: 1}[tt.retry]; calls.Load() != want {
			t.Errorf("%s: %d attempts, want %d", tt.code, calls.Load(), want)
		}
	}
}
