package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/gatewaytest"
)

// call sends a request with the merchant's secret key and decodes the JSON
// answer, which must have the given status.
func call(t *testing.T, g *gatewaytest.Gateway, method, path, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.SecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return v
}

// times collects the time fields of a JSON object (names ending in _at or
// _deadline), nested objects and lists included, by path.
func times(prefix string, v any, out map[string]string) map[string]string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (strings.HasSuffix(k, "_at") || strings.HasSuffix(k, "_deadline")) {
				out[prefix+k] = s
			} else {
				times(prefix+k+".", x, out)
			}
		}
	case []any:
		for i, x := range v {
			times(fmt.Sprintf("%s%d.", prefix, i), x, out)
		}
	}
	return out
}

// TestTimesAsStored checks that every time an answer to a write gives is
// the one a later read gives: times are made at the precision the stores
// keep (microseconds), not finer.
func TestTimesAsStored(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, RequireAck: true})
		const card = `"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}`
		seen := map[string]bool{}
		// check compares what a write answered with what GET path answers
		// now, field by field.
		check := func(what string, wrote map[string]any, path string) {
			t.Helper()
			read := times("", call(t, g, "GET", path, "", http.StatusOK), map[string]string{})
			for field, w := range times("", wrote, map[string]string{}) {
				seen[field] = true
				if r, ok := read[field]; !ok {
					t.Errorf("%s: %s is %s in the answer, absent from GET %s", what, field, w, path)
				} else if r != w {
					t.Errorf("%s: %s is %s in the answer, %s in GET %s", what, field, w, r, path)
				}
			}
		}

		sale := call(t, g, "POST", "/v1/payments", `{"amount":2500,"currency":"USD",`+card+`}`, http.StatusOK)
		id := sale["id"].(string)
		check("sale", sale, "/v1/payments/"+id)
		check("ack", call(t, g, "POST", "/v1/payments/"+id+"/ack", "", http.StatusOK), "/v1/payments/"+id)
		refund := call(t, g, "POST", "/v1/payments/"+id+"/refunds", `{"amount":500}`, http.StatusOK)
		read := call(t, g, "GET", "/v1/payments/"+id, "", http.StatusOK)
		if got, want := times("", read, map[string]string{})["refunds.0.created_at"], refund["created_at"]; got != want {
			t.Errorf("refund: created_at is %v in the answer, %s in GET", want, got)
		}
		seen["refund created_at"] = refund["created_at"] != nil

		auth := call(t, g, "POST", "/v1/payments", `{"amount":2500,"currency":"USD","capture":false,`+card+`}`, http.StatusOK)
		check("authorization", auth, "/v1/payments/"+auth["id"].(string))
		auth = call(t, g, "POST", "/v1/payments/"+auth["id"].(string)+"/capture", "", http.StatusOK)
		check("capture", auth, "/v1/payments/"+auth["id"].(string))
		void := call(t, g, "POST", "/v1/payments", `{"amount":2500,"currency":"USD","capture":false,`+card+`}`, http.StatusOK)
		void = call(t, g, "POST", "/v1/payments/"+void["id"].(string)+"/void", "", http.StatusOK)
		check("void", void, "/v1/payments/"+void["id"].(string))

		stored := call(t, g, "POST", "/v1/cards", `{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}`, http.StatusOK)
		check("stored card", stored, "/v1/cards/"+stored["id"].(string))

		for _, f := range []string{"created_at", "captured_at", "ack_deadline", "acked_at", "voided_at", "refund created_at"} {
			if !seen[f] {
				t.Errorf("no answer had %s: the test checked less than it should", f)
			}
		}
	})
}
