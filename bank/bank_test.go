package bank_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

const approve = "4242424242424242"

var (
	usd  = paygate.Currency{Code: "USD", Numeric: "840", Exponent: 2}
	seq  atomic.Int64
	now  = time.Now().UTC()
	next = func() int64 { return seq.Add(1) }
)

// request returns a request with a fresh STAN and RRN.
func request(kind paygate.NetworkKind, pan string, amount int64) paygate.NetworkRequest {
	n := next()
	return paygate.NetworkRequest{
		Kind:             kind,
		PAN:              pan,
		ExpMonth:         12,
		ExpYear:          now.Year() + 3,
		Amount:           amount,
		Currency:         usd,
		STAN:             fmt.Sprintf("%06d", n%1_000_000),
		RRN:              fmt.Sprintf("%012d", n),
		TransmissionTime: now,
		MerchantID:       "MERCHANT0000001",
		MerchantName:     "Paygate Test Shop",
		TerminalID:       "WEB00001",
		MCC:              "5999",
	}
}

// follow returns a capture or reversal quoting orig.
func follow(kind paygate.NetworkKind, orig paygate.NetworkRequest, authCode string, amount int64) paygate.NetworkRequest {
	r := request(kind, orig.PAN, amount)
	r.RRN = orig.RRN
	r.AuthCode = authCode
	r.OriginalKind = orig.Kind
	r.OriginalSTAN = orig.STAN
	r.OriginalTime = orig.TransmissionTime
	r.OriginalAmount = orig.Amount
	return r
}

func client(b *bank.Bank, timeout time.Duration) *iso8583.Client {
	return iso8583.NewClient(iso8583.LinkFunc(b.Handle), timeout)
}

func mustSend(tb testing.TB, c *iso8583.Client, req paygate.NetworkRequest) paygate.NetworkResponse {
	tb.Helper()
	resp, err := c.Send(context.Background(), req)
	if err != nil {
		tb.Fatalf("%s: %v", req.Kind, err)
	}
	return resp
}

func mustAccount(tb testing.TB, b *bank.Bank, pan string) bank.Account {
	tb.Helper()
	a, ok := b.Account(pan)
	if !ok {
		tb.Fatalf("no account %s", paygate.MaskPAN(pan))
	}
	if a.Available != a.Posted-a.Held {
		tb.Errorf("available %d, want posted %d - held %d", a.Available, a.Posted, a.Held)
	}
	return a
}

func TestTestCards(t *testing.T) {
	unknownBrand := "900000000000000"
	unknownBrand += string(paygate.LuhnCheckDigit(unknownBrand))
	tests := []struct {
		pan    string
		amount int64
		cvc    string
		want   string
	}{
		{"4242424242424242", 1000, "123", "00"},
		{"4111111111111111", 1000, "123", "00"},
		{"5555555555554444", 1000, "123", "00"},
		{"2223003122003222", 1000, "123", "00"},
		{"378282246310005", 1000, "1234", "00"},
		{"6011111111111117", 1000, "123", "00"},
		{"3566002020360505", 1000, "123", "00"},
		{"6200000000000005", 1000, "123", "00"},
		{"36227206271667", 1000, "123", "00"},
		{"4000000000000002", 1000, "123", "05"},
		{"4000000000009995", 1000, "123", "51"},
		{"4000000000000069", 1000, "123", "54"},
		{"4000000000009987", 1000, "123", "41"},
		{"4000000000009979", 1000, "123", "43"},
		{"4000000000000119", 1000, "123", "96"},
		{"4000000000000127", 1000, "123", "N7"},
		{"4000000000000127", 1000, "", "00"},
		{"4000000000000572", 1000, "123", "57"},
		{"4100000000000019", 1000, "123", "59"},
		{"4000000000000614", 10001, "123", "61"},
		{"4000000000000614", 10000, "123", "00"},
		{"4000000000000622", 1000, "123", "62"},
		{"4000000000000010", 1000, "123", "14"},
		{"4000090000000003", 1000, "123", "91"},
		{unknownBrand, 1000, "123", "15"},
	}
	for _, kind := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale} {
		b := bank.New(nil)
		c := client(b, time.Second)
		for _, tt := range tests {
			req := request(kind, tt.pan, tt.amount)
			req.CVC = tt.cvc
			resp := mustSend(t, c, req)
			if resp.ResponseCode != tt.want {
				t.Errorf("%s %s: response %s, want %s", kind, tt.pan, resp.ResponseCode, tt.want)
			}
			if resp.Approved() != (len(resp.AuthCode) == 6) {
				t.Errorf("%s %s: response %s with auth code %q", kind, tt.pan, resp.ResponseCode, resp.AuthCode)
			}
			if resp.RRN != req.RRN {
				t.Errorf("%s %s: RRN %q, want %q", kind, tt.pan, resp.RRN, req.RRN)
			}
		}
	}
}

// TestVerification: an account verification (an authorization of zero)
// checks the card — status, expiry, fixed decline, CVC — and nothing about
// funds, and moves no money: no hold, no posting, no auth code.
func TestVerification(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	tests := []struct {
		pan, cvc string
		expired  bool // an expiry before the month of DE7
		want     string
	}{
		{"4242424242424242", "123", false, "00"},
		{"378282246310005", "1234", false, "00"},
		{"4000000000000127", "123", false, "N7"},
		{"4000000000000127", "", false, "00"},
		{"4000000000009987", "123", false, "41"},
		{"4000000000009979", "123", false, "43"},
		{"4000000000000069", "123", false, "54"},
		{"4242424242424242", "123", true, "54"},
		{"4000000000000622", "123", false, "62"},
		{"4000000000000002", "123", false, "05"},
		{"4000000000000010", "123", false, "14"},
		{"4000090000000003", "123", false, "91"},
		{"4000000000009995", "123", false, "00"}, // no funds: a verification moves none
		{"4000000000000614", "123", false, "00"}, // a per-transaction limit: likewise
	}
	for _, tt := range tests {
		var before bank.Account
		if _, ok := b.Account(tt.pan); ok {
			before = mustAccount(t, b, tt.pan)
		}
		req := request(paygate.NetworkVerify, tt.pan, 0)
		req.CVC = tt.cvc
		if tt.expired {
			req.ExpYear, req.ExpMonth = now.Year()-1, 12
		}
		resp := mustSend(t, c, req)
		if resp.ResponseCode != tt.want || resp.AuthCode != "" {
			t.Errorf("verify %s (cvc %q, expired %v): response %s auth code %q, want %s and none", tt.pan, tt.cvc, tt.expired, resp.ResponseCode, resp.AuthCode, tt.want)
		}
		if _, ok := b.Account(tt.pan); ok {
			if after := mustAccount(t, b, tt.pan); after.Held != before.Held || after.Posted != before.Posted || after.Available != before.Available || len(after.Holds) != 0 {
				t.Errorf("verify %s: account %+v after, %+v before: want it unchanged", tt.pan, after, before)
			}
		}
	}
	// The same RRN verified twice is checked twice, and then authorizing
	// it is no duplicate: a verification leaves nothing behind.
	req := request(paygate.NetworkVerify, approve, 0)
	req.CVC = "123"
	mustSend(t, c, req)
	if resp := mustSend(t, c, req); resp.ResponseCode != "00" {
		t.Errorf("second verification: %s, want 00", resp.ResponseCode)
	}
	auth := req
	auth.Kind, auth.Amount = paygate.NetworkAuthorize, 500
	if resp := mustSend(t, c, auth); resp.ResponseCode != "00" || b.Holds(approve) != 500 {
		t.Errorf("authorization of a verified RRN: %s, holds %d; want 00 and 500", resp.ResponseCode, b.Holds(approve))
	}
	s := b.Stats()
	if s.Verifications != int64(len(tests)+2) || s.HoldsPlaced != 1 || s.Duplicates != 0 || s.Authorizations != 1 {
		t.Errorf("stats %+v: want %d verifications, 1 authorization, 1 hold, no duplicates", s, len(tests)+2)
	}
}

func TestExpiredRequest(t *testing.T) {
	b := bank.New(nil)
	req := request(paygate.NetworkAuthorize, approve, 1000)
	req.ExpYear, req.ExpMonth = now.Year()-1, 12
	if rc := mustSend(t, client(b, time.Second), req).ResponseCode; rc != "54" {
		t.Errorf("response %s, want 54", rc)
	}
}

func TestAuthorizeCapture(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	start := mustAccount(t, b, approve)

	auth := request(paygate.NetworkAuthorize, approve, 1000)
	resp := mustSend(t, c, auth)
	if !resp.Approved() {
		t.Fatalf("authorization: %s", resp.ResponseCode)
	}
	a := mustAccount(t, b, approve)
	if a.Available != start.Available-1000 || a.Posted != start.Posted || a.Held != 1000 || a.Holds[auth.RRN] != 1000 {
		t.Errorf("after authorization: %+v", a)
	}
	if got := b.Holds(approve); got != 1000 {
		t.Errorf("Holds = %d, want 1000", got)
	}

	// A partial capture records 600; the hold stays until clearing.
	capture := follow(paygate.NetworkCapture, auth, resp.AuthCode, 600)
	for range 2 { // the repeat changes nothing
		if rc := mustSend(t, c, capture).ResponseCode; rc != "00" {
			t.Errorf("capture: %s", rc)
		}
		a = mustAccount(t, b, approve)
		if a.Available != start.Available-1000 || a.Posted != start.Posted || a.Held != 1000 {
			t.Errorf("after capture: %+v", a)
		}
	}

	// A refund of 200 is credited at clearing.
	refund := request(paygate.NetworkRefund, approve, 200)
	if rc := mustSend(t, c, refund).ResponseCode; rc != "00" {
		t.Errorf("refund: %s", rc)
	}
	if a = mustAccount(t, b, approve); a.Posted != start.Posted || a.Held != 1000 {
		t.Errorf("after refund: %+v", a)
	}

	// Reversing the capture before clearing releases the hold: nothing
	// of it is posted.
	if rc := mustSend(t, c, follow(paygate.NetworkReverse, capture, resp.AuthCode, 0)).ResponseCode; rc != "00" {
		t.Errorf("reversal: %s", rc)
	}
	a = mustAccount(t, b, approve)
	if a.Available != start.Available || a.Posted != start.Posted || a.Held != 0 {
		t.Errorf("after reversal of the capture: %+v", a)
	}
	b.ClearAll()
	if a = mustAccount(t, b, approve); a.Available != start.Available+200 || a.Posted != start.Posted+200 || a.Held != 0 {
		t.Errorf("after clearing: %+v, want the refund credited", a)
	}
}

func TestCaptureClears(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	start := mustAccount(t, b, approve)
	auth := request(paygate.NetworkAuthorize, approve, 1000)
	resp := mustSend(t, c, auth)
	mustSend(t, c, follow(paygate.NetworkCapture, auth, resp.AuthCode, 600))
	b.ClearAll()
	// The hold of 1000 is released, 600 posted.
	if a := mustAccount(t, b, approve); a.Available != start.Available-600 || a.Posted != start.Posted-600 || a.Held != 0 {
		t.Errorf("after clearing: %+v", a)
	}
	if n := b.Remembered(); n != 0 {
		t.Errorf("%d RRNs remembered after clearing, want 0", n)
	}
}

func TestCaptureWithoutHold(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	start := mustAccount(t, b, approve)
	auth := request(paygate.NetworkAuthorize, approve, 1000) // never sent
	if rc := mustSend(t, c, follow(paygate.NetworkCapture, auth, "ABC123", 1000)).ResponseCode; rc != "00" {
		t.Errorf("capture advice: %s, want 00", rc)
	}
	if a := mustAccount(t, b, approve); a.Posted != start.Posted || a.Held != 0 {
		t.Errorf("force post before clearing: %+v", a)
	}
	b.ClearAll()
	if a := mustAccount(t, b, approve); a.Posted != start.Posted-1000 {
		t.Errorf("force post: %+v", a)
	}
}

func TestSale(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	start := mustAccount(t, b, approve)
	sale := request(paygate.NetworkSale, approve, 2500)
	resp := mustSend(t, c, sale)
	a := mustAccount(t, b, approve)
	// A sale holds until it is cleared.
	if !resp.Approved() || a.Available != start.Available-2500 || a.Posted != start.Posted || a.Held != 2500 {
		t.Errorf("after sale %s: %+v", resp.ResponseCode, a)
	}
	// A partial reversal keeps 1000 of it, then a full one undoes the rest.
	partial := follow(paygate.NetworkReverse, sale, resp.AuthCode, 1000)
	for range 2 {
		mustSend(t, c, partial)
		if a := mustAccount(t, b, approve); a.Held != 1000 || a.Posted != start.Posted {
			t.Errorf("after partial reversal: %+v", a)
		}
	}
	mustSend(t, c, follow(paygate.NetworkReverse, sale, resp.AuthCode, 0))
	if a := mustAccount(t, b, approve); a.Posted != start.Posted || a.Available != start.Available || a.Held != 0 {
		t.Errorf("after full reversal: %+v", a)
	}
	b.ClearAll()
	if a := mustAccount(t, b, approve); a.Posted != start.Posted || a.Available != start.Available {
		t.Errorf("after clearing a reversed sale: %+v", a)
	}

	// Partly reversed, then cleared: 1000 posted.
	sale = request(paygate.NetworkSale, approve, 2500)
	resp = mustSend(t, c, sale)
	mustSend(t, c, follow(paygate.NetworkReverse, sale, resp.AuthCode, 1000))
	b.ClearAll()
	if a := mustAccount(t, b, approve); a.Posted != start.Posted-1000 || a.Held != 0 {
		t.Errorf("after clearing a partly reversed sale: %+v", a)
	}
}

func TestReversalIdempotent(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	start := mustAccount(t, b, approve)
	auth := request(paygate.NetworkAuthorize, approve, 1000)
	resp := mustSend(t, c, auth)

	partial := follow(paygate.NetworkReverse, auth, resp.AuthCode, 400)
	mustSend(t, c, partial)
	if got := b.Holds(approve); got != 400 {
		t.Errorf("after partial reversal held %d, want 400", got)
	}
	full := follow(paygate.NetworkReverse, auth, resp.AuthCode, 0)
	for i := range 3 {
		if rc := mustSend(t, c, full).ResponseCode; rc != "00" {
			t.Errorf("reversal %d: %s", i, rc)
		}
		if a := mustAccount(t, b, approve); a.Available != start.Available || a.Held != 0 || len(a.Holds) != 0 {
			t.Errorf("after reversal %d: %+v", i, a)
		}
	}
	// Nothing to reverse, or no account: still 00.
	for _, pan := range []string{approve, "4000000000000010"} {
		if rc := mustSend(t, c, follow(paygate.NetworkReverse, request(paygate.NetworkAuthorize, pan, 5), "", 0)).ResponseCode; rc != "00" {
			t.Errorf("reversal of nothing: %s", rc)
		}
	}
	// A reversal of a refund takes the credit back.
	refund := request(paygate.NetworkRefund, approve, 300)
	mustSend(t, c, refund)
	mustSend(t, c, follow(paygate.NetworkReverse, refund, "", 0))
	mustSend(t, c, follow(paygate.NetworkReverse, refund, "", 0))
	if a := mustAccount(t, b, approve); a.Available != start.Available || a.Posted != start.Posted {
		t.Errorf("after reversal of the refund: %+v", a)
	}
}

func TestDuplicates(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	auth := request(paygate.NetworkAuthorize, approve, 1000)
	first := mustSend(t, c, auth)
	again := auth
	again.STAN = "999999"
	second := mustSend(t, c, again)
	if second != first {
		t.Errorf("duplicate answered %+v, first %+v", second, first)
	}
	if got := b.Holds(approve); got != 1000 {
		t.Errorf("held %d, want 1000 (once)", got)
	}
	if s := b.Stats(); s.HoldsPlaced != 1 || s.Duplicates != 1 || s.Authorizations != 2 {
		t.Errorf("stats %+v", s)
	}
	sale := auth
	sale.Kind = paygate.NetworkSale
	if rc := mustSend(t, c, sale).ResponseCode; rc != "94" {
		t.Errorf("sale with an authorization's RRN: %s, want 94", rc)
	}
	refund := request(paygate.NetworkRefund, approve, 100)
	r1, r2 := mustSend(t, c, refund), mustSend(t, c, refund)
	b.ClearAll()
	if r1 != r2 || mustAccount(t, b, approve).Posted != bank.StandardLimit+100 {
		t.Errorf("refund repeated: %+v %+v %+v", r1, r2, mustAccount(t, b, approve))
	}
}

func TestSilentIssuer(t *testing.T) {
	const pan = "4000110000000009"
	b := bank.New(nil)
	auth := request(paygate.NetworkAuthorize, pan, 1000)
	start := time.Now()
	_, err := client(b, 20*time.Millisecond).Send(context.Background(), auth)
	if !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Fatalf("Send = %v, want ErrNetworkTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timed out after %v", d)
	}
	if strings.Contains(err.Error(), pan) {
		t.Errorf("error leaks the PAN: %v", err)
	}
	if got := b.Holds(pan); got != 1000 {
		t.Fatalf("held %d, want 1000", got)
	}
	rev := follow(paygate.NetworkReverse, auth, "", 0)
	if rc := mustSend(t, client(b, time.Second), rev).ResponseCode; rc != "00" {
		t.Errorf("reversal: %s", rc)
	}
	if got := b.Holds(pan); got != 0 {
		t.Errorf("held %d after reversal, want 0", got)
	}
}

func TestIssuerDown(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	send := func(pan string) string {
		return mustSend(t, c, request(paygate.NetworkAuthorize, pan, 100)).ResponseCode
	}

	if rc := send("4000090000000003"); rc != "91" {
		t.Errorf("offline issuer: %s, want 91", rc)
	}
	b.SetIssuerDown(bank.OfflineBIN, false)
	if rc := send("4000090000000003"); rc != "00" {
		t.Errorf("offline issuer up again: %s, want 00", rc)
	}
	b.SetIssuerDown("4242", true)
	if rc := send(approve); rc != "91" {
		t.Errorf("issuer down: %s, want 91", rc)
	}
	if rc := send("4111111111111111"); rc != "00" {
		t.Errorf("other BIN: %s, want 00", rc)
	}
	// Advices are accepted for a down issuer.
	auth := request(paygate.NetworkAuthorize, approve, 100)
	if rc := mustSend(t, c, follow(paygate.NetworkCapture, auth, "ABC123", 100)).ResponseCode; rc != "00" {
		t.Errorf("capture advice while down: %s, want 00", rc)
	}
	b.SetIssuerDown("4242", false)
	if rc := send(approve); rc != "00" {
		t.Errorf("issuer up: %s, want 00", rc)
	}
}

func TestConcurrentAuthorizations(t *testing.T) {
	b := bank.New(nil)
	c := client(b, 5*time.Second)
	amount := bank.StandardLimit / 10
	var approved atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := c.Send(context.Background(), request(paygate.NetworkAuthorize, approve, amount))
			if err != nil {
				t.Error(err)
				return
			}
			switch resp.ResponseCode {
			case "00":
				approved.Add(1)
			case "51":
			default:
				t.Errorf("response %s", resp.ResponseCode)
			}
			if a := mustAccount(t, b, approve); a.Available < 0 {
				t.Errorf("overdrawn: %+v", a)
			}
		})
	}
	wg.Wait()
	a := mustAccount(t, b, approve)
	if approved.Load() != 10 || a.Available != 0 || a.Held != bank.StandardLimit || len(a.Holds) != 10 {
		t.Errorf("%d approved, account %d available %d held %d holds", approved.Load(), a.Available, a.Held, len(a.Holds))
	}
	if s := b.Stats(); s.HoldsPlaced != 10 || s.Approved != 10 || s.Declined != 40 {
		t.Errorf("stats %+v", s)
	}
}

func TestNetworkManagement(t *testing.T) {
	b := bank.New(nil)
	msg, err := iso8583.PackManagement(iso8583.Management{MTI: "0800", Code: iso8583.Echo, STAN: "000001", Time: now})
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.Handle(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	mg, err := iso8583.UnpackManagement(out)
	if err != nil {
		t.Fatal(err)
	}
	if mg.MTI != "0810" || mg.ResponseCode != "00" || mg.Code != iso8583.Echo || mg.STAN != "000001" {
		t.Errorf("answer %+v", mg)
	}
}

func TestMalformed(t *testing.T) {
	b := bank.New(nil)
	for _, msg := range [][]byte{nil, []byte("0100"), []byte("0100FFFFFFFFFFFFFFFF"), []byte("9999")} {
		if _, err := b.Handle(context.Background(), msg); err == nil {
			t.Errorf("Handle(%q): no error", msg)
		}
	}
	if s := b.Stats(); s.Malformed != 4 {
		t.Errorf("stats %+v", s)
	}
}

func TestLogsMaskCardData(t *testing.T) {
	var buf bytes.Buffer
	// Without the time, whose digits could hold the CVC's by chance.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	b := bank.New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})))
	req := request(paygate.NetworkAuthorize, approve, 1000)
	req.CVC = "918"
	mustSend(t, client(b, time.Second), req)
	b.Handle(context.Background(), []byte("0100garbage"+approve))
	logs := buf.String()
	if strings.Contains(logs, approve) || strings.Contains(logs, "cvc") || strings.Contains(logs, req.CVC) {
		t.Errorf("logs leak card data:\n%s", logs)
	}
	if !strings.Contains(logs, paygate.MaskPAN(approve)) {
		t.Errorf("logs lack the masked PAN:\n%s", logs)
	}
}

func BenchmarkSale(b *testing.B) {
	bk := bank.New(nil)
	c := client(bk, time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Send(context.Background(), request(paygate.NetworkSale, approve, 100))
			if err != nil || !resp.Approved() {
				b.Error(resp.ResponseCode, err)
				return
			}
		}
	})
}
