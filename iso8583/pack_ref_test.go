package iso8583

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	moov "github.com/moov-io/iso8583"

	"github.com/paygate/paygate"
)

// The library, as the reference pack.go is held to, and the fieldSets of
// every message the package builds.

// specIDs are the ids of the fields of Spec above the bitmap, in order.
var specIDs = func() []int {
	var ids []int
	for id := range Spec.Fields {
		if id >= 2 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}()

// moovPack packs f with the library and Spec, as the package did before
// pack.go. A field Spec does not define is refused, as the library's
// Message.Field refuses it.
func moovPack(f *fieldSet) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("library panicked: %v", r)
		}
	}()
	m := moov.NewMessage(Spec)
	m.MTI(f.mti)
	for id := 2; id <= maxField; id++ {
		if f.v[id] != "" {
			if err := m.Field(id, f.v[id]); err != nil {
				return nil, err
			}
		}
	}
	return m.Pack()
}

// moovUnpack unpacks b with the library and Spec into a fieldSet, reading
// the fields the bitmap marks, as the package did before pack.go. A panic
// of the library is a failure.
func moovUnpack(b []byte) (f fieldSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = fieldSet{}, fmt.Errorf("library panicked: %v", r)
		}
	}()
	m := moov.NewMessage(Spec)
	if err := m.Unpack(b); err != nil {
		return f, err
	}
	f.mti, _ = m.GetMTI()
	bm := m.Bitmap()
	for _, id := range specIDs {
		if bm.IsSet(id) {
			if f.v[id], err = m.GetString(id); err != nil {
				return fieldSet{}, err
			}
		}
	}
	return f, nil
}

// diff describes how two fieldSets differ by field number and lengths,
// never by value (the values may be card data); "" when they are equal.
func diff(got, want *fieldSet) string {
	var out []string
	if got.mti != want.mti {
		out = append(out, fmt.Sprintf("MTI %q, want %q", got.mti, want.mti))
	}
	for id := range got.v {
		if got.v[id] != want.v[id] {
			out = append(out, fmt.Sprintf("field %d: %d bytes, want %d", id, len(got.v[id]), len(want.v[id])))
		}
	}
	return strings.Join(out, "; ")
}

var (
	testUSD      = paygate.Currency{Code: "USD", Numeric: "840", Exponent: 2}
	testSent     = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	testAuthedAt = time.Date(2026, time.March, 14, 15, 9, 20, 0, time.UTC)
)

// testRequest returns a request of the given kind with fixed values.
func testRequest(kind paygate.NetworkKind) paygate.NetworkRequest {
	r := paygate.NetworkRequest{
		Kind: kind, PAN: "4242424242424242", ExpMonth: 12, ExpYear: 2030, Amount: 1999, Currency: testUSD,
		STAN: "000042", RRN: "607315000042", TransmissionTime: testSent, MerchantID: "MERCHANT0000001",
		MerchantName: "Paygate Test Shop       Springfield  US", TerminalID: "WEB00001", MCC: "5999",
		Channel: paygate.ChannelEcommerce,
	}
	switch kind {
	case paygate.NetworkAuthorize, paygate.NetworkSale:
		r.CVC = "737"
	case paygate.NetworkVerify:
		r.Amount, r.CVC = 0, "737"
	case paygate.NetworkCapture, paygate.NetworkReverse:
		r.Amount, r.AuthCode = 1500, "A1B2C3"
		r.OriginalKind, r.OriginalSTAN, r.OriginalTime, r.OriginalAmount = paygate.NetworkAuthorize, "000041", testAuthedAt, 1999
	}
	return r
}

type namedFieldSet struct {
	name string
	f    fieldSet
}

// messageFieldSets returns the fieldSet of every kind of message the
// package builds, filled by the package's own code.
func messageFieldSets(t testing.TB) []namedFieldSet {
	t.Helper()
	var out []namedFieldSet
	add := func(name string, fill func(*fieldSet) error) {
		t.Helper()
		var f fieldSet
		if err := fill(&f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, namedFieldSet{name, f})
	}
	kinds := map[string]func() paygate.NetworkRequest{
		"authorize": func() paygate.NetworkRequest { return testRequest(paygate.NetworkAuthorize) },
		"verify":    func() paygate.NetworkRequest { return testRequest(paygate.NetworkVerify) },
		"sale":      func() paygate.NetworkRequest { return testRequest(paygate.NetworkSale) },
		"refund":    func() paygate.NetworkRequest { return testRequest(paygate.NetworkRefund) },
		"capture":   func() paygate.NetworkRequest { return testRequest(paygate.NetworkCapture) },
		"partial reversal": func() paygate.NetworkRequest {
			return testRequest(paygate.NetworkReverse)
		},
		"full reversal": func() paygate.NetworkRequest {
			r := testRequest(paygate.NetworkReverse)
			r.Amount = 0
			return r
		},
		"reversal of a refund": func() paygate.NetworkRequest {
			r := testRequest(paygate.NetworkReverse)
			r.OriginalKind, r.OriginalSTAN, r.OriginalTime = paygate.NetworkRefund, "", time.Time{}
			return r
		},
		"moto sale": func() paygate.NetworkRequest {
			r := testRequest(paygate.NetworkSale)
			r.Channel, r.CVC = paygate.ChannelMOTO, ""
			return r
		},
		"bare sale": func() paygate.NetworkRequest {
			r := testRequest(paygate.NetworkSale)
			r.ExpMonth, r.ExpYear, r.MCC, r.MerchantName, r.TerminalID, r.CVC = 0, 0, "", "", "", ""
			r.PAN, r.MerchantID, r.Amount = "4", "M", 0
			return r
		},
		"longest sale": func() paygate.NetworkRequest {
			r := testRequest(paygate.NetworkSale)
			r.PAN, r.Amount, r.CVC = "4242424242424242424", 999999999999, "7373"
			r.MerchantName = strings.Repeat("Long names", 10)
			return r
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	}) {
		req := kinds[name]()
		add(name, func(f *fieldSet) error { return f.request(req) })
		add(name+" approved", func(f *fieldSet) error {
			return f.response(req, paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3", RRN: "607315009999"})
		})
		add(name+" declined", func(f *fieldSet) error {
			return f.response(req, paygate.NetworkResponse{ResponseCode: "05"})
		})
	}
	for _, code := range []string{SignOn, Echo, SignOff} {
		mg := Management{MTI: MTINetwork, Code: code, STAN: "7", Time: testSent}
		add("0800 "+code, func(f *fieldSet) error { return f.management(mg) })
		mg.MTI, mg.ResponseCode = paygate.ResponseMTI(MTINetwork), "00"
		add("0810 "+code, func(f *fieldSet) error { return f.management(mg) })
	}

	rec := paygate.ReconcileRequest{
		MerchantID: "MERCHANT0000001", TerminalID: "WEB00001", BatchNumber: 17, Currency: testUSD,
		Totals: paygate.Totals{DebitsCount: 3, DebitsAmount: 12345, CreditsCount: 1, CreditsAmount: 500,
			DebitReversalsCount: 1, DebitReversalsAmount: 45, CreditReversalsCount: 2, CreditReversalsAmount: 7},
		Pricing: "interchange_plus:30:5", ClosedAt: time.Date(2026, time.March, 14, 23, 59, 0, 0, time.UTC),
		STAN: "000077", TransmissionTime: testSent,
	}
	add("0500", func(f *fieldSet) error { return f.reconcile(rec) })
	add("0510 in balance", func(f *fieldSet) error {
		return f.reconcileResponse(rec, paygate.ReconcileResponse{ResponseCode: "00", Totals: rec.Totals, Funded: 11000, Fees: 793})
	})
	many := make([]paygate.BatchDifference, paygate.MaxReconcileDifferences+3)
	for i := range many {
		many[i] = paygate.BatchDifference{RRN: fmt.Sprintf("%012d", i), Kind: "amount_differs", Amount: int64(i), AcquirerAmount: int64(i + 1)}
	}
	add("0510 differences", func(f *fieldSet) error {
		return f.reconcileResponse(rec, paygate.ReconcileResponse{ResponseCode: "95", Differences: many, DifferenceCount: len(many)})
	})
	up := paygate.UploadRequest{
		MerchantID: "MERCHANT0000001", TerminalID: "WEB00001", BatchNumber: 17, STAN: "000078", TransmissionTime: testSent,
		Item: paygate.BatchItem{Kind: "debit", RRN: "607315000042", AuthCode: "A1B2C3", Amount: 1999, Currency: testUSD},
	}
	add("0320 debit", func(f *fieldSet) error { return f.upload(up) })
	up.Item.Kind, up.Last = "credit", true
	add("0320 credit last", func(f *fieldSet) error { return f.upload(up) })
	add("0330", func(f *fieldSet) error { return f.uploadResponse(up, "00") })
	return out
}

// edgeFieldSets returns fieldSets at the edges of Spec: every field at its
// longest and at its shortest, each variable field at the lengths where its
// prefix gains a digit, the MTI alone, one field of each bitmap alone, and
// bytes a reader might not expect (controls, DEL, spaces inside).
func edgeFieldSets() []namedFieldSet {
	fill := func(n int, seed int) string {
		const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#%&*+-./:;<=>?@_~"
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[(i+seed)%len(chars)]
		}
		return string(b)
	}
	var out []namedFieldSet
	longest, shortest := fieldSet{mti: "0200"}, fieldSet{mti: "0210"}
	for _, id := range specIDs {
		ft := formats[id]
		longest.v[id] = fill(ft.length, id)
		if ft.digits > 0 || ft.spaced {
			shortest.v[id] = fill(1, id)
		} else {
			shortest.v[id] = fill(ft.length, id)
		}
	}
	out = append(out, namedFieldSet{"every field longest", longest}, namedFieldSet{"every field shortest", shortest})
	for _, id := range specIDs {
		ft := formats[id]
		if ft.digits == 0 {
			continue
		}
		for _, n := range []int{1, 9, 10, 11, 19, 99, 100, 101, 998, 999} {
			if n <= ft.length {
				f := fieldSet{mti: "0100"}
				f.v[id] = fill(n, n)
				f.v[70] = "301" // with a secondary bitmap too
				out = append(out, namedFieldSet{fmt.Sprintf("field %d of %d", id, n), f})
			}
		}
	}
	out = append(out,
		namedFieldSet{"MTI alone", fieldSet{mti: "0800"}},
		namedFieldSet{"letters for an MTI", fieldSet{mti: "AB z"}},
		namedFieldSet{"controls for an MTI", fieldSet{mti: "\x00\x01\x7f\t"}},
	)
	for _, id := range []int{2, 3, 63, 70, 97} {
		f := fieldSet{mti: "0100"}
		f.v[id] = fill(formats[id].length, 0)
		out = append(out, namedFieldSet{fmt.Sprintf("field %d alone", id), f})
	}
	odd := fieldSet{mti: "0100"}
	odd.v[38] = " A B"                       // spaced: leading and inner spaces stay
	odd.v[41] = "\x00\x7f"                   // spaced: controls and DEL are ASCII
	odd.v[43] = strings.Repeat("\t", 40)     // spaced, full
	odd.v[48] = "\x00\x01\x1f\x7f |9203737 " // LLLVAR: trailing space kept
	odd.v[3] = "      "                      // fixed: spaces are a value
	out = append(out, namedFieldSet{"unexpected bytes", odd})
	return out
}

// allFieldSets returns messageFieldSets and edgeFieldSets.
func allFieldSets(t testing.TB) []namedFieldSet {
	return append(messageFieldSets(t), edgeFieldSets()...)
}
