package iso8583_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const (
	testPAN = "4242424242424242"
	testCVC = "737"
)

var (
	usd      = paygate.Currency{Code: "USD", Numeric: "840", Exponent: 2}
	sentAt   = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	authedAt = time.Date(2026, time.March, 14, 15, 9, 20, 0, time.UTC)
)

// request returns a request of the given kind with fixed values.
func request(kind paygate.NetworkKind) paygate.NetworkRequest {
	r := paygate.NetworkRequest{
		Kind:             kind,
		PAN:              testPAN,
		ExpMonth:         12,
		ExpYear:          2030,
		Amount:           1999,
		Currency:         usd,
		STAN:             "000042",
		RRN:              "607315000042",
		TransmissionTime: sentAt,
		MerchantID:       "MERCHANT0000001",
		MerchantName:     "Paygate Test Shop       Springfield  US",
		TerminalID:       "WEB00001",
		MCC:              "5999",
		Channel:          paygate.ChannelEcommerce,
	}
	switch kind {
	case paygate.NetworkAuthorize, paygate.NetworkSale:
		r.CVC = testCVC
	case paygate.NetworkVerify:
		r.Amount = 0
		r.CVC = testCVC
	case paygate.NetworkCapture:
		r.Amount = 1500
		r.AuthCode = "A1B2C3"
		r.OriginalKind = paygate.NetworkAuthorize
		r.OriginalSTAN = "000041"
		r.OriginalTime = authedAt
		r.OriginalAmount = 1999
	case paygate.NetworkReverse:
		r.Amount = 500 // partial: 5.00 of 19.99 stays
		r.AuthCode = "A1B2C3"
		r.OriginalKind = paygate.NetworkAuthorize
		r.OriginalSTAN = "000041"
		r.OriginalTime = authedAt
		r.OriginalAmount = 1999
	}
	return r
}

type golden struct {
	name string
	pack func() ([]byte, error)
}

func goldens() []golden {
	req := func(k paygate.NetworkKind) func() ([]byte, error) {
		return func() ([]byte, error) { return iso8583.PackRequest(request(k)) }
	}
	resp := func(k paygate.NetworkKind) func() ([]byte, error) {
		return func() ([]byte, error) {
			return iso8583.PackResponse(request(k), paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3"})
		}
	}
	mgmt := func(mti, rc string) func() ([]byte, error) {
		return func() ([]byte, error) {
			return iso8583.PackManagement(iso8583.Management{MTI: mti, Code: iso8583.SignOn, STAN: "000007", Time: sentAt, ResponseCode: rc})
		}
	}
	return []golden{
		{"0100", req(paygate.NetworkAuthorize)},
		{"0110", resp(paygate.NetworkAuthorize)},
		{"0200-sale", req(paygate.NetworkSale)},
		{"0200-refund", req(paygate.NetworkRefund)},
		{"0200-moto", func() ([]byte, error) {
			r := request(paygate.NetworkSale)
			r.Channel, r.CVC = paygate.ChannelMOTO, ""
			return iso8583.PackRequest(r)
		}},
		{"0210", resp(paygate.NetworkSale)},
		{"0220", req(paygate.NetworkCapture)},
		{"0230", resp(paygate.NetworkCapture)},
		{"0400", req(paygate.NetworkReverse)},
		{"0410", resp(paygate.NetworkReverse)},
		{"0100-verify", req(paygate.NetworkVerify)},
		{"0110-verify", func() ([]byte, error) {
			return iso8583.PackResponse(request(paygate.NetworkVerify), paygate.NetworkResponse{ResponseCode: "N7"})
		}},
		{"0800", mgmt("0800", "")},
		{"0810", mgmt("0810", "00")},
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			got, err := g.pack()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("packed\n%s\nwant\n%s", got, want)
			}
			if mti := string(got[:4]); !strings.HasPrefix(g.name, mti) {
				t.Errorf("MTI %s, want %s", mti, g.name[:4])
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, k := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkRefund, paygate.NetworkCapture, paygate.NetworkReverse, paygate.NetworkVerify} {
		t.Run(k.String(), func(t *testing.T) {
			want := request(k)
			b, err := iso8583.PackRequest(want)
			if err != nil {
				t.Fatal(err)
			}
			got, mti, err := iso8583.UnpackRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if mti != string(b[:4]) {
				t.Errorf("mti %s, want %s", mti, b[:4])
			}
			// DE7 carries no year and the capture carries no original amount.
			if f := "0102150405"; got.TransmissionTime.Format(f) != want.TransmissionTime.Format(f) {
				t.Errorf("TransmissionTime %v, want %v", got.TransmissionTime, want.TransmissionTime)
			}
			if f := "0102150405"; got.OriginalTime.Format(f) != want.OriginalTime.Format(f) {
				t.Errorf("OriginalTime %v, want %v", got.OriginalTime, want.OriginalTime)
			}
			got.TransmissionTime, want.TransmissionTime = time.Time{}, time.Time{}
			got.OriginalTime, want.OriginalTime = time.Time{}, time.Time{}
			if k == paygate.NetworkCapture {
				want.OriginalAmount = 0
			}
			if got != want {
				t.Errorf("unpacked\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestVerification: an account verification is an 0100 of amount zero
// that carries the CVC2, and only such an 0100 unpacks as one.
func TestVerification(t *testing.T) {
	b, err := iso8583.PackRequest(request(paygate.NetworkVerify))
	if err != nil {
		t.Fatal(err)
	}
	d := iso8583.Describe(b)
	if !strings.HasPrefix(d, "0100 ") || !strings.Contains(d, " 3=000000 4=000000000000 ") || !strings.Contains(d, " 48=*** ") {
		t.Errorf("verification on the wire: %s, want an 0100 with DE3 000000, DE4 zero and DE48", d)
	}
	auth, _, err := iso8583.UnpackRequest(mustPack(t, request(paygate.NetworkAuthorize)))
	if err != nil || auth.Kind != paygate.NetworkAuthorize {
		t.Errorf("an 0100 of 1999 unpacks as %v (%v), want authorize", auth.Kind, err)
	}
	withAmount := request(paygate.NetworkVerify)
	withAmount.Amount = 1
	if _, err := iso8583.PackRequest(withAmount); err == nil {
		t.Error("a verification with an amount was packed")
	}
}

func TestProcessingCodeKeepsZeros(t *testing.T) {
	b, err := iso8583.PackRequest(request(paygate.NetworkSale))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(iso8583.Describe(b), " 3=000000 ") {
		t.Errorf("DE3 not 000000 in %s", iso8583.Describe(b))
	}
	got, _, err := iso8583.UnpackRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != paygate.NetworkSale {
		t.Errorf("kind %v, want sale", got.Kind)
	}
}

func TestBitmap(t *testing.T) {
	tests := []struct {
		kind paygate.NetworkKind
		hex  int
	}{
		{paygate.NetworkAuthorize, 16},
		{paygate.NetworkSale, 16},
		{paygate.NetworkCapture, 32}, // DE90
		{paygate.NetworkReverse, 32}, // DE90, DE95
	}
	for _, tt := range tests {
		b, err := iso8583.PackRequest(request(tt.kind))
		if err != nil {
			t.Fatal(err)
		}
		// The bitmap runs from after the MTI to the PAN's length prefix.
		n := bytes.Index(b, []byte("16"+testPAN)) - 4
		if n != tt.hex {
			t.Errorf("%s: bitmap of %d hex characters, want %d", tt.kind, n, tt.hex)
		}
	}
}

func TestReversalAmounts(t *testing.T) {
	tests := []struct {
		name           string
		amount, orig   int64
		wantAmount     int64
		wantReplaceSet bool
	}{
		{"full, same amount", 1999, 1999, 1999, false},
		{"full, zero amount", 0, 1999, 1999, false},
		{"full, no original", 1999, 0, 1999, false},
		{"partial", 500, 1999, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(paygate.NetworkReverse)
			r.Amount, r.OriginalAmount = tt.amount, tt.orig
			b, err := iso8583.PackRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := iso8583.UnpackRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Amount != tt.wantAmount {
				t.Errorf("Amount %d, want %d", got.Amount, tt.wantAmount)
			}
			if has := strings.Contains(iso8583.Describe(b), " 95="); has != tt.wantReplaceSet {
				t.Errorf("DE95 present %v, want %v", has, tt.wantReplaceSet)
			}
		})
	}
	r := request(paygate.NetworkReverse)
	r.Amount = 3000
	if _, err := iso8583.PackRequest(r); err == nil {
		t.Error("replacement above the original: no error")
	}
}

func TestReversalOfRefund(t *testing.T) {
	r := request(paygate.NetworkReverse)
	r.OriginalKind = paygate.NetworkRefund
	b, err := iso8583.PackRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := iso8583.UnpackRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.OriginalKind != paygate.NetworkRefund {
		t.Errorf("OriginalKind %v, want refund", got.OriginalKind)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, k := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkRefund, paygate.NetworkCapture, paygate.NetworkReverse} {
		req := request(k)
		want := paygate.NetworkResponse{ResponseCode: "51", RRN: req.RRN}
		if k != paygate.NetworkAuthorize {
			want = paygate.NetworkResponse{ResponseCode: "00", AuthCode: "Z9Y8", RRN: req.RRN}
		}
		b, err := iso8583.PackResponse(req, want)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(testPAN)) {
			t.Errorf("%s: response echoes the PAN: %s", k, b)
		}
		got, mti, stan, err := iso8583.UnpackResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		reqMTI := map[paygate.NetworkKind]string{
			paygate.NetworkAuthorize: "0110", paygate.NetworkSale: "0210", paygate.NetworkRefund: "0210",
			paygate.NetworkCapture: "0230", paygate.NetworkReverse: "0410",
		}[k]
		if got != want || mti != reqMTI || stan != req.STAN {
			t.Errorf("%s: got %+v %s %s, want %+v %s %s", k, got, mti, stan, want, reqMTI, req.STAN)
		}
	}
}

func TestManagementRoundTrip(t *testing.T) {
	for _, code := range []string{iso8583.SignOn, iso8583.Echo, iso8583.SignOff} {
		for _, want := range []iso8583.Management{
			{MTI: "0800", Code: code, STAN: "000001", Time: sentAt},
			{MTI: "0810", Code: code, STAN: "000001", Time: sentAt, ResponseCode: "00"},
		} {
			b, err := iso8583.PackManagement(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := iso8583.UnpackManagement(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Time.Format("0102150405") != want.Time.Format("0102150405") {
				t.Errorf("time %v, want %v", got.Time, want.Time)
			}
			got.Time, want.Time = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
	}
}

func TestDescribeMasks(t *testing.T) {
	for _, g := range goldens() {
		b, err := g.pack()
		if err != nil {
			t.Fatal(err)
		}
		d := iso8583.Describe(b)
		if strings.Contains(d, testPAN) || strings.Contains(d, "9203"+testCVC) || strings.Contains(d, "14=3012") {
			t.Errorf("%s: Describe leaks card data: %s", g.name, d)
		}
		if strings.Contains(d, "\n") {
			t.Errorf("%s: Describe is not one line: %q", g.name, d)
		}
	}
	b, _ := iso8583.PackRequest(request(paygate.NetworkAuthorize))
	d := iso8583.Describe(b)
	for _, want := range []string{"0100 ", " 2=424242******4242 ", " 14=*** ", " 48=*** ", " 37=607315000042 "} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe = %s, want it to contain %q", d, want)
		}
	}
	if d := iso8583.Describe([]byte("0100zz")); !strings.Contains(d, "malformed") {
		t.Errorf("Describe(garbage) = %s", d)
	}
}

func TestErrorsHideCardData(t *testing.T) {
	bad := []func(*paygate.NetworkRequest){
		func(r *paygate.NetworkRequest) { r.PAN = testPAN + "0000" },
		func(r *paygate.NetworkRequest) { r.PAN = testPAN[:10] + "x" },
		func(r *paygate.NetworkRequest) { r.CVC = "12x" },
		func(r *paygate.NetworkRequest) { r.CVC = "73737" },
		func(r *paygate.NetworkRequest) { r.RRN = testPAN },
		func(r *paygate.NetworkRequest) { r.STAN = testPAN },
	}
	for i, f := range bad {
		r := request(paygate.NetworkAuthorize)
		f(&r)
		_, err := iso8583.PackRequest(r)
		if err == nil {
			t.Errorf("%d: no error", i)
			continue
		}
		if strings.Contains(err.Error(), testPAN[:10]) || strings.Contains(err.Error(), r.CVC) {
			t.Errorf("%d: error leaks card data: %v", i, err)
		}
	}
	// A PAN of the wrong length on the wire.
	b, _ := iso8583.PackRequest(request(paygate.NetworkAuthorize))
	b = bytes.Replace(b, []byte("16"+testPAN), []byte("9"+testPAN+"0"), 1)
	if _, _, err := iso8583.UnpackRequest(b); err == nil || strings.Contains(err.Error(), testPAN[:8]) {
		t.Errorf("UnpackRequest(bad PAN) error = %v", err)
	}
}

// bank answers every request with approval, or misbehaves as told.
func bank(t *testing.T, tweak func(req paygate.NetworkRequest, resp []byte) []byte) iso8583.LinkFunc {
	return func(ctx context.Context, msg []byte) ([]byte, error) {
		req, _, err := iso8583.UnpackRequest(msg)
		if err != nil {
			t.Error(err)
			return nil, err
		}
		resp, err := iso8583.PackResponse(req, paygate.NetworkResponse{ResponseCode: "00", AuthCode: "OK1234"})
		if err != nil {
			return nil, err
		}
		if tweak != nil {
			resp = tweak(req, resp)
		}
		return resp, nil
	}
}

func TestClient(t *testing.T) {
	c := iso8583.NewClient(bank(t, nil), time.Second)
	for _, k := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkRefund, paygate.NetworkCapture, paygate.NetworkReverse} {
		resp, err := c.Send(context.Background(), request(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !resp.Approved() || resp.AuthCode != "OK1234" || resp.RRN != "607315000042" {
			t.Errorf("%s: %+v", k, resp)
		}
	}
}

func TestClientMismatch(t *testing.T) {
	otherSTAN := bank(t, func(req paygate.NetworkRequest, b []byte) []byte {
		return bytes.Replace(b, []byte(req.STAN), []byte("999999"), 1)
	})
	otherMTI := bank(t, func(req paygate.NetworkRequest, b []byte) []byte {
		return append([]byte("0130"), b[4:]...)
	})
	for _, link := range []iso8583.LinkFunc{otherSTAN, otherMTI} {
		_, err := iso8583.NewClient(link, time.Second).Send(context.Background(), request(paygate.NetworkAuthorize))
		if err == nil || errors.Is(err, paygate.ErrNetworkTimeout) {
			t.Errorf("Send = %v, want a mismatch error", err)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	silent := iso8583.LinkFunc(func(ctx context.Context, msg []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	start := time.Now()
	_, err := iso8583.NewClient(silent, 20*time.Millisecond).Send(context.Background(), request(paygate.NetworkAuthorize))
	if !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Fatalf("Send = %v, want ErrNetworkTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if strings.Contains(err.Error(), testPAN) || strings.Contains(err.Error(), testCVC) {
		t.Errorf("error leaks card data: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = iso8583.NewClient(silent, time.Second).Send(ctx, request(paygate.NetworkAuthorize))
	if !errors.Is(err, paygate.ErrNetworkTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("Send(canceled) = %v, want ErrNetworkTimeout and Canceled", err)
	}
}

func TestAdviceAndRepeatMTIs(t *testing.T) {
	base := paygate.NetworkRequest{PAN: "4242424242424242", Amount: 1000, STAN: "000123", RRN: "000000000123",
		TransmissionTime: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), MerchantID: "123456789012345", TerminalID: "PG000001",
		OriginalKind: paygate.NetworkAuthorize, OriginalSTAN: "000122", OriginalTime: time.Date(2026, 11, 23, 11, 59, 0, 0, time.UTC), OriginalAmount: 1000}
	base.Currency, _ = paygate.LookupCurrency("USD")
	tests := []struct {
		kind           paygate.NetworkKind
		advice, repeat bool
		mti, answer    string
	}{
		{paygate.NetworkReverse, false, false, "0400", "0410"},
		{paygate.NetworkReverse, false, true, "0401", "0410"},
		{paygate.NetworkReverse, true, false, "0420", "0430"},
		{paygate.NetworkReverse, true, true, "0421", "0430"},
		{paygate.NetworkCapture, false, false, "0220", "0230"},
		{paygate.NetworkCapture, false, true, "0221", "0230"},
	}
	for _, tt := range tests {
		req := base
		req.Kind, req.Advice, req.Repeat = tt.kind, tt.advice, tt.repeat
		if got := req.MTI(); got != tt.mti {
			t.Errorf("NetworkRequest.MTI: got %s, want %s", got, tt.mti)
		}
		b, err := iso8583.PackRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b[:4]); got != tt.mti {
			t.Errorf("packed MTI: got %s, want %s", got, tt.mti)
		}
		back, mti, err := iso8583.UnpackRequest(b)
		if err != nil || mti != tt.mti || back.Advice != tt.advice || back.Repeat != tt.repeat {
			t.Errorf("unpacked %s: advice %v repeat %v err %v", mti, back.Advice, back.Repeat, err)
		}
		resp, err := iso8583.PackResponse(back, paygate.NetworkResponse{ResponseCode: "00"})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp[:4]); got != tt.answer {
			t.Errorf("answer MTI to %s: got %s, want %s", tt.mti, got, tt.answer)
		}
	}
}

// TestDomainLimitsFitTheSpec: the largest amount the domain accepts packs
// into DE4, and one more does not.
func TestDomainLimitsFitTheSpec(t *testing.T) {
	req := request(paygate.NetworkSale)
	req.Amount = paygate.MaxAmount
	if _, err := iso8583.PackRequest(req); err != nil {
		t.Errorf("PackRequest(MaxAmount): %v", err)
	}
	req.Amount = paygate.MaxAmount + 1
	if _, err := iso8583.PackRequest(req); err == nil {
		t.Errorf("PackRequest(MaxAmount+1) packed, want an error: DE4 would not hold it")
	}
}
