package http

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/paygate/paygate"
)

// TestRenderErrorSafetyNet: the renderer shows the server's own words and
// numbers as written, and still masks a card number that a message quoted
// without masking it (a forgotten quoting site).
func TestRenderErrorSafetyNet(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest("POST", "/v1/payments", nil)
	tests := []struct{ msg, param, wantMsg, wantParam string }{
		{"Amount must be at most 999999999999 minor units.", "amount", "Amount must be at most 999999999999 minor units.", "amount"},
		{"Request body is larger than 65536 bytes.", "", "Request body is larger than 65536 bytes.", ""},
		{"Forgot to mask 4242/4242/4242/4242 here.", "x[4242_4242_4242_4242]", "Forgot to mask 424242******4242 here.", "x[424242******4242]"},
		{"Forgot to mask ５５５５５５５５５５５５４４４４.", "", "Forgot to mask 555555******4444.", ""},
	}
	for _, tt := range tests {
		status, body := s.renderError(r, paygate.ParamErrorf(paygate.EINVALID, tt.param, "%s", tt.msg), "")
		if status != 422 || body.Error.Message != tt.wantMsg || body.Error.Param != tt.wantParam {
			t.Errorf("renderError(%q, %q): got %d %q %q, want 422 %q %q", tt.msg, tt.param, status, body.Error.Message, body.Error.Param, tt.wantMsg, tt.wantParam)
		}
	}
}
