package iso8583

import (
	"bytes"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// TestAnswerKeyOf: the key read from the packed bytes is what unpacking the
// message gives, the same for a request and its answer, for messages with
// and without a secondary bitmap and whatever the case of the bitmap's hex.
func TestAnswerKeyOf(t *testing.T) {
	usd, _ := paygate.LookupCurrency("USD")
	sent := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	for _, kind := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkRefund,
		paygate.NetworkCapture, paygate.NetworkReverse, paygate.NetworkVerify} {
		req := paygate.NetworkRequest{Kind: kind, PAN: "4242424242424242", Amount: 1999, Currency: usd, STAN: "000042",
			RRN: "000000000042", TransmissionTime: sent, MerchantID: "123456789012345", TerminalID: "PG000001",
			OriginalKind: paygate.NetworkAuthorize, OriginalSTAN: "000041", OriginalTime: sent, OriginalAmount: 1999}
		if kind == paygate.NetworkVerify {
			req.Amount = 0
		}
		b, err := PackRequest(req)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var f fieldSet
		if err := f.unpack(b); err != nil {
			t.Fatal(err)
		}
		key, ok := answerKeyOf(b)
		want := answerKey{mti: paygate.ResponseMTI(req.MTI()), stan: f.v[11], sent: f.v[7]}
		if !ok || key != want || key.stan != "000042" || key.sent != "0314150926" {
			t.Errorf("%s: got %+v %v, want %+v", kind, key, ok, want)
		}
		lower := append([]byte(nil), b...)
		copy(lower[4:], bytes.ToLower(b[4:20]))
		if key, ok := answerKeyOf(lower); !ok || key != want {
			t.Errorf("%s with a lower-case bitmap: got %+v %v, want %+v", kind, key, ok, want)
		}
		resp, err := PackResponse(req, paygate.NetworkResponse{ResponseCode: paygate.ResponseApproved})
		if err != nil {
			t.Fatal(err)
		}
		if key, ok := answerKeyOf(resp); !ok || key != want {
			t.Errorf("%s answer: got %+v %v, want the request's %+v", kind, key, ok, want)
		}
	}
	good, err := PackManagement(Management{MTI: MTINetwork, Code: Echo, STAN: "7", Time: sent})
	if err != nil {
		t.Fatal(err)
	}
	if key, ok := answerKeyOf(good); !ok || key != (answerKey{mti: "0810", stan: "000007", sent: "0314150926"}) {
		t.Errorf("echo: got %+v %v", key, ok)
	}
	for name, b := range map[string][]byte{
		"short":       good[:19],
		"letter MTI":  append([]byte("08A0"), good[4:]...),
		"bad hex":     append(append(append([]byte(nil), good[:4]...), 'G'), good[5:]...),
		"cut in DE7":  good[:22],
		"unspecified": append(append([]byte(nil), good[:4]...), []byte("0800000000000000")...), // DE5 only
	} {
		if key, ok := answerKeyOf(b); ok {
			t.Errorf("%s: got %+v, want no key", name, key)
		}
	}
}

func TestMTIOf(t *testing.T) {
	for in, want := range map[string]string{"0800rest": "0800", "0100": "0100", "010": "", "": ""} {
		if got := MTIOf([]byte(in)); got != want {
			t.Errorf("MTIOf(%q) = %q, want %q", in, got, want)
		}
	}
}
