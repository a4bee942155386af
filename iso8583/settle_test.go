package iso8583_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

func reconcileRequest() paygate.ReconcileRequest {
	return paygate.ReconcileRequest{
		MerchantID:  "MERCHANT0000001",
		TerminalID:  "WEB00001",
		BatchNumber: 17,
		Currency:    usd,
		Totals: paygate.Totals{
			DebitsCount: 3, DebitsAmount: 12345, CreditsCount: 1, CreditsAmount: 500,
			DebitReversalsCount: 1, DebitReversalsAmount: 45, CreditReversalsCount: 2, CreditReversalsAmount: 7,
		},
		Pricing:          "interchange_plus:30:5",
		ClosedAt:         time.Date(2026, time.March, 14, 23, 59, 0, 0, time.UTC),
		STAN:             "000077",
		TransmissionTime: sentAt,
	}
}

func uploadRequest(kind string, last bool) paygate.UploadRequest {
	return paygate.UploadRequest{
		MerchantID:  "MERCHANT0000001",
		TerminalID:  "WEB00001",
		BatchNumber: 17,
		Item: paygate.BatchItem{
			Kind: kind, RRN: "607315000042", AuthCode: "A1B2C3", Amount: 1999, Currency: usd,
		},
		Last:             last,
		STAN:             "000078",
		TransmissionTime: sentAt,
	}
}

func TestReconcileRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*paygate.ReconcileRequest)
	}{
		{"full", func(*paygate.ReconcileRequest) {}},
		{"negative net", func(r *paygate.ReconcileRequest) { r.Totals = paygate.Totals{CreditsCount: 1, CreditsAmount: 900} }},
		{"empty, no pricing, no close time", func(r *paygate.ReconcileRequest) {
			r.Totals, r.Pricing, r.ClosedAt, r.TerminalID = paygate.Totals{}, "", time.Time{}, ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := reconcileRequest()
			tt.mutate(&want)
			b, err := iso8583.PackReconcile(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := iso8583.MTIOf(b); got != "0500" {
				t.Errorf("MTI %q, want 0500", got)
			}
			got, err := iso8583.UnpackReconcile(b)
			if err != nil {
				t.Fatal(err)
			}
			sameDE7(t, &got.TransmissionTime, want.TransmissionTime)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			// DE97 carries the net with its sign.
			net := fmt.Sprintf("%016d", abs(want.Totals.Net()))
			sign := "C"
			if want.Totals.Net() < 0 {
				sign = "D"
			}
			if d := iso8583.Describe(b); !strings.Contains(d, "97="+sign+net) {
				t.Errorf("Describe = %s, want 97=%s%s", d, sign, net)
			}
		})
	}
}

// sameDE7 checks that DE7 came back (it has no year: the unpacker picks
// the one closest to now) and sets got to want.
func sameDE7(t *testing.T, got *time.Time, want time.Time) {
	t.Helper()
	const de7 = "0102150405"
	if got.Format(de7) != want.Format(de7) {
		t.Errorf("DE7 %s, want %s", got.Format(de7), want.Format(de7))
	}
	*got = want
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func TestReconcileResponseRoundTrip(t *testing.T) {
	req := reconcileRequest()
	many := make([]paygate.BatchDifference, 40)
	for i := range many {
		many[i] = paygate.BatchDifference{RRN: fmt.Sprintf("%012d", i), Kind: "amount_differs", Amount: int64(i), AcquirerAmount: int64(i + 1)}
	}
	tests := []struct {
		name string
		resp paygate.ReconcileResponse
		want paygate.ReconcileResponse // zero: resp
	}{
		{"in balance", paygate.ReconcileResponse{ResponseCode: "00", Totals: req.Totals, Funded: 11000, Fees: 793}, paygate.ReconcileResponse{}},
		{"in balance, negative funding", paygate.ReconcileResponse{ResponseCode: "00", Totals: paygate.Totals{CreditsCount: 1, CreditsAmount: 90}, Funded: -90}, paygate.ReconcileResponse{}},
		{"out of balance", paygate.ReconcileResponse{ResponseCode: "95", Totals: paygate.Totals{DebitsCount: 2, DebitsAmount: 100}}, paygate.ReconcileResponse{}},
		{"differences", paygate.ReconcileResponse{ResponseCode: "95", Differences: []paygate.BatchDifference{
			{RRN: "607315000042", Kind: "missing_at_acquirer", Amount: 1999},
			{RRN: "607315000043", Kind: "missing_at_gateway", AcquirerAmount: 5},
			{RRN: "607315000044", Kind: "amount_differs", Amount: 10, AcquirerAmount: 11},
		}, DifferenceCount: 3}, paygate.ReconcileResponse{}},
		{"differences bounded", paygate.ReconcileResponse{ResponseCode: "95", Differences: many, DifferenceCount: 40},
			paygate.ReconcileResponse{ResponseCode: "95", Differences: many[:paygate.MaxReconcileDifferences], DifferenceCount: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want.ResponseCode == "" {
				want = tt.resp
			}
			b, err := iso8583.PackReconcileResponse(req, tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 2000 {
				t.Errorf("0510 of %d bytes", len(b))
			}
			got, mti, stan, err := iso8583.UnpackReconcileResponse(b)
			if err != nil {
				t.Fatal(err)
			}
			if mti != "0510" || stan != req.STAN {
				t.Errorf("MTI %q STAN %q, want 0510 %s", mti, stan, req.STAN)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestUploadRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		kind, proc string
		last       bool
	}{{"debit", "000000", false}, {"credit", "200000", true}} {
		t.Run(tt.kind, func(t *testing.T) {
			want := uploadRequest(tt.kind, tt.last)
			b, err := iso8583.PackUpload(want)
			if err != nil {
				t.Fatal(err)
			}
			if d := iso8583.Describe(b); !strings.HasPrefix(d, "0320 ") || !strings.Contains(d, " 3="+tt.proc) || !strings.Contains(d, " 37=607315000042") {
				t.Errorf("Describe = %s", d)
			}
			got, err := iso8583.UnpackUpload(b)
			if err != nil {
				t.Fatal(err)
			}
			sameDE7(t, &got.TransmissionTime, want.TransmissionTime)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			resp, err := iso8583.PackUploadResponse(got, "00")
			if err != nil {
				t.Fatal(err)
			}
			rc, mti, stan, err := iso8583.UnpackUploadResponse(resp)
			if err != nil || rc != "00" || mti != "0330" || stan != want.STAN {
				t.Errorf("0330: %q %q %q %v, want 00 0330 %s", rc, mti, stan, err, want.STAN)
			}
		})
	}
}

func TestSettlementRejects(t *testing.T) {
	good, err := iso8583.PackReconcile(reconcileRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(good, []byte("C0000000000011807")) {
		t.Fatalf("0500 without DE97 C0000000000011807: %s", iso8583.Describe(good))
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"net does not match", bytes.Replace(good, []byte("C0000000000011807"), []byte("C0000000000011808"), 1)},
		{"a request as a 0500", mustPack(t, request(paygate.NetworkSale))},
	}
	for _, tt := range tests {
		if _, err := iso8583.UnpackReconcile(tt.b); err == nil {
			t.Errorf("%s: UnpackReconcile succeeded", tt.name)
		}
	}
	bad := reconcileRequest()
	bad.Totals.DebitsAmount = -1
	if _, err := iso8583.PackReconcile(bad); err == nil {
		t.Error("PackReconcile of a negative amount succeeded")
	}
	up := uploadRequest("refund", false)
	if _, err := iso8583.PackUpload(up); err == nil {
		t.Error("PackUpload of kind refund succeeded")
	}
	// A 0320 is never read as a financial request, nor a sale as a 0320.
	b, _ := iso8583.PackUpload(uploadRequest("debit", false))
	if _, _, err := iso8583.UnpackRequest(b); err == nil {
		t.Error("UnpackRequest took a 0320")
	}
	if _, err := iso8583.UnpackUpload(mustPack(t, request(paygate.NetworkSale))); err == nil {
		t.Error("UnpackUpload took a 0200")
	}
}

// settler answers 0500 and 0320 the way a bank would, with fixed figures.
func settler(t *testing.T, tweak func([]byte) []byte) iso8583.LinkFunc {
	return func(ctx context.Context, msg []byte) ([]byte, error) {
		var out []byte
		var err error
		switch iso8583.MTIOf(msg) {
		case "0500":
			r, err2 := iso8583.UnpackReconcile(msg)
			if err2 != nil {
				t.Error(err2)
				return nil, err2
			}
			out, err = iso8583.PackReconcileResponse(r, paygate.ReconcileResponse{ResponseCode: "00", Totals: r.Totals, Funded: r.Totals.Net() - 100, Fees: 100})
		case "0320":
			r, err2 := iso8583.UnpackUpload(msg)
			if err2 != nil {
				t.Error(err2)
				return nil, err2
			}
			out, err = iso8583.PackUploadResponse(r, "00")
		default:
			return nil, fmt.Errorf("unexpected %s", iso8583.MTIOf(msg))
		}
		if tweak != nil && err == nil {
			out = tweak(out)
		}
		return out, err
	}
}

func TestClientSettler(t *testing.T) {
	var s paygate.Settler = iso8583.NewClient(settler(t, nil), time.Second)
	req := reconcileRequest()
	resp, err := s.Reconcile(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseCode != "00" || resp.Totals != req.Totals || resp.Funded != req.Totals.Net()-100 || resp.Fees != 100 {
		t.Errorf("Reconcile = %+v", resp)
	}
	rc, err := s.Upload(context.Background(), uploadRequest("debit", true))
	if err != nil || rc != "00" {
		t.Errorf("Upload = %q, %v; want 00", rc, err)
	}

	otherSTAN := iso8583.NewClient(settler(t, func(b []byte) []byte {
		return bytes.Replace(b, []byte("000077"), []byte("999999"), 1)
	}), time.Second)
	if _, err := otherSTAN.Reconcile(context.Background(), req); err == nil || errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Errorf("Reconcile with another STAN = %v, want a mismatch error", err)
	}
	silent := iso8583.NewClient(iso8583.LinkFunc(func(ctx context.Context, msg []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), 10*time.Millisecond)
	if _, err := silent.Reconcile(context.Background(), req); !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Errorf("Reconcile without answer = %v, want ErrNetworkTimeout", err)
	}
	if _, err := silent.Upload(context.Background(), uploadRequest("debit", false)); !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Errorf("Upload without answer = %v, want ErrNetworkTimeout", err)
	}
}

func FuzzUnpackSettlement(f *testing.F) {
	seeds := [][]byte{}
	if b, err := iso8583.PackReconcile(reconcileRequest()); err == nil {
		seeds = append(seeds, b)
		r, _ := iso8583.UnpackReconcile(b)
		if out, err := iso8583.PackReconcileResponse(r, paygate.ReconcileResponse{ResponseCode: "95", Differences: []paygate.BatchDifference{{RRN: "607315000042", Kind: "amount_differs", Amount: 1, AcquirerAmount: 2}}, DifferenceCount: 1}); err == nil {
			seeds = append(seeds, out)
		}
	}
	if b, err := iso8583.PackUpload(uploadRequest("credit", true)); err == nil {
		seeds = append(seeds, b)
		r, _ := iso8583.UnpackUpload(b)
		if out, err := iso8583.PackUploadResponse(r, "00"); err == nil {
			seeds = append(seeds, out)
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := iso8583.UnpackReconcile(b); err == nil {
			// What unpacks is answered.
			_, _ = iso8583.PackReconcileResponse(r, paygate.ReconcileResponse{ResponseCode: "95", Totals: r.Totals})
		}
		if r, err := iso8583.UnpackUpload(b); err == nil {
			_, _ = iso8583.PackUploadResponse(r, "00")
		}
		iso8583.UnpackReconcileResponse(b)
		iso8583.UnpackUploadResponse(b)
		_ = iso8583.Describe(b)
	})
}
