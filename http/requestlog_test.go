package http_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestLogsCarryRequestID: the lines the gateway logs about a request, deep
// in the domain too, carry its request id (the Request-Id header), and
// those about its network message its STAN and RRN.
func TestLogsCarryRequestID(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	body := `{"amount":1000,"currency":"USD","card":{"number":"4000000000000002","exp_month":12,"exp_year":2030,"cvc":"123"}}`
	req, _ := http.NewRequest("POST", g.URL()+"/v1/payments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("Request-Id")
	if resp.StatusCode != 402 || id == "" {
		t.Fatalf("got %d, Request-Id %q; want 402 with an id", resp.StatusCode, id)
	}
	var declined string
	for line := range bytes.Lines(g.Logs.Bytes()) {
		if bytes.Contains(line, []byte("payment declined")) {
			declined = string(line)
		}
	}
	if declined == "" {
		t.Fatalf("no decline logged:\n%s", g.Logs.Bytes())
	}
	for _, want := range []string{"request_id=" + id, "stan=", "rrn=", "payment_id=pay_"} {
		if !strings.Contains(declined, want) {
			t.Errorf("decline line lacks %s:\n%s", want, declined)
		}
	}
	if n := strings.Count(declined, "request_id="); n != 1 {
		t.Errorf("request_id %d times:\n%s", n, declined)
	}
}
