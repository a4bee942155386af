package paygate_test

import (
	"fmt"
	"testing"

	"github.com/paygate/paygate"
)

func TestLookupDecline(t *testing.T) {
	// Decline codes are wire names: this table pins them.
	tests := []struct {
		responseCode string
		wantCode     string
	}{
		{"05", "do_not_honor"},
		{"14", "invalid_number"},
		{"41", "lost_card"},
		{"43", "stolen_card"},
		{"51", "insufficient_funds"},
		{"54", "expired_card"},
		{"57", "transaction_not_allowed"},
		{"59", "suspected_fraud"},
		{"61", "exceeds_amount_limit"},
		{"91", "issuer_unavailable"},
		{"96", "processing_error"},
	}
	reasons := map[string]string{}
	for _, tt := range tests {
		d := paygate.LookupDecline(tt.responseCode)
		if d.Code != tt.wantCode {
			t.Errorf("LookupDecline(%q).Code: got %q, want %q", tt.responseCode, d.Code, tt.wantCode)
		}
		if d.Code == "generic_decline" {
			t.Errorf("LookupDecline(%q).Code: got generic_decline, want a specific code", tt.responseCode)
		}
		if d.ResponseCode != tt.responseCode {
			t.Errorf("LookupDecline(%q).ResponseCode: got %q, want %q", tt.responseCode, d.ResponseCode, tt.responseCode)
		}
		if d.Reason == "" || d.Reason == paygate.LookupDecline("").Reason {
			t.Errorf("LookupDecline(%q).Reason: got %q, want a specific sentence", tt.responseCode, d.Reason)
		}
		if other, ok := reasons[d.Reason]; ok {
			t.Errorf("LookupDecline(%q).Reason: got %q, the same as for %q", tt.responseCode, d.Reason, other)
		}
		reasons[d.Reason] = tt.responseCode
	}
}

func TestLookupDeclineUnknown(t *testing.T) {
	for _, rc := range []string{"", "ZZ", "99", "00", "5", "005"} {
		d := paygate.LookupDecline(rc)
		want := paygate.Decline{ResponseCode: rc, Code: "generic_decline", Reason: "The issuer declined the payment."}
		if d != want {
			t.Errorf("LookupDecline(%q): got %+v, want %+v", rc, d, want)
		}
	}
}

func TestDeclineError(t *testing.T) {
	tests := []struct {
		responseCode    string
		wantDeclineCode string
	}{
		{"51", "insufficient_funds"},
		{"N7", "incorrect_cvc"},
		{"Q1", "generic_decline"},
	}
	for _, tt := range tests {
		e := paygate.DeclineError(tt.responseCode)
		d := paygate.LookupDecline(tt.responseCode)
		want := paygate.Error{Code: paygate.EDECLINED, Message: d.Reason, DeclineCode: tt.wantDeclineCode, ResponseCode: tt.responseCode}
		if *e != want {
			t.Errorf("DeclineError(%q): got %+v, want %+v", tt.responseCode, *e, want)
		}
		wrapped := fmt.Errorf("authorize: %w", e)
		if got := paygate.ErrorCode(wrapped); got != paygate.EDECLINED {
			t.Errorf("ErrorCode(wrapped decline): got %q, want %q", got, paygate.EDECLINED)
		}
		if got := paygate.ErrorMessage(wrapped); got != d.Reason {
			t.Errorf("ErrorMessage(wrapped decline): got %q, want %q", got, d.Reason)
		}
	}
}

func TestNetworkResponseApproved(t *testing.T) {
	for rc, want := range map[string]bool{"00": true, "": false, "05": false, "0": false} {
		if got := (paygate.NetworkResponse{ResponseCode: rc}).Approved(); got != want {
			t.Errorf("Approved(%q): got %v, want %v", rc, got, want)
		}
	}
}
