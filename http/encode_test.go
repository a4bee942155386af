package http

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The hand-written encoders are held to json.Marshal, byte for byte.

// checkSameJSON fails t unless v.appendJSON and json.Marshal agree on v:
// the same bytes, or both an error. encodeAnswer must then give the same
// answer as respond gave with json.Marshal alone.
func checkSameJSON(t testing.TB, v jsonAppender) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := v.appendJSON([]byte("prefix"))
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("appendJSON error %v, json.Marshal error %v, for %#v", gerr, werr, v)
	case werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)):
		t.Fatalf("appendJSON wrote\n%s\njson.Marshal wrote\n%s\nfor %#v", got, want, v)
	}
	ans, aerr := encodeAnswer(v)
	switch {
	case werr != nil && (aerr == nil || aerr.Error() != werr.Error()):
		t.Fatalf("encodeAnswer error %v, json.Marshal error %v", aerr, werr)
	case werr == nil && (aerr != nil || !bytes.Equal(ans, append(want, '\n'))):
		t.Fatalf("encodeAnswer gave %q, %v; want %q", ans, aerr, append(want, '\n'))
	}
}

// stringPieces are what random strings are made of: plain text, what
// encoding/json escapes, and what it replaces.
var stringPieces = []string{
	"", "a", "pay_3kTq9", "Order #1042", " ", "é", "日本", "😀", "\u00a0",
	"<", ">", "&", `"`, `\`, "/", "'", "<script>", "&amp;",
	"\x00", "\x01", "\b", "\f", "\n", "\r", "\t", "\x1b", "\x1f", "\x7f",
	"\u2028", "\u2029", "\u2027", "\u202a", "\ufffd", "\ufeff",
	"\xff", "\xfe", "\xc3", "\xc3(", "\xe2\x80", "\xe2\x80\xa8\xa8", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
	"\xc0\xaf", "\x80",
}

func randString(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(6) {
		if r.IntN(8) == 0 {
			sb.WriteByte(byte(r.IntN(256))) // any byte at all
			continue
		}
		sb.WriteString(stringPieces[r.IntN(len(stringPieces))])
	}
	return sb.String()
}

// maybe returns s half the time, else "" (an omitted field).
func maybe(r *rand.Rand, s string) string {
	if r.IntN(2) == 0 {
		return ""
	}
	return s
}

var zones = []*time.Location{
	time.UTC, time.FixedZone("", 0), time.FixedZone("IST", 5*3600+1800), time.FixedZone("NST", -(3*3600 + 1800)),
	time.FixedZone("", 14*3600), time.FixedZone("", -12*3600), time.FixedZone("", 23*3600+59*60+59),
	time.FixedZone("", 30), time.FixedZone("", -30),
	time.FixedZone("", 24*3600), time.FixedZone("", -(99*3600 + 59*60)), // hours RFC 3339 cannot write
}

// randTime returns nil (an omitted time) or a time: zero, ordinary, with
// or without nanoseconds, in odd zones, and now and then one RFC 3339
// cannot write.
func randTime(r *rand.Rand) *time.Time {
	var t time.Time
	switch r.IntN(8) {
	case 0, 1, 2:
		return nil
	case 3:
		// The zero time.
	case 4:
		t = time.Date(r.IntN(12000)-1000, time.Month(r.IntN(12)+1), r.IntN(28)+1, r.IntN(24), r.IntN(60), r.IntN(60), 0, zones[r.IntN(len(zones))])
	default:
		nsec := []int64{0, 1, 10, 100_000_000, 120_000_000, 999_999_999, r.Int64N(1e9)}[r.IntN(7)]
		t = time.Unix(r.Int64N(4e9)-1e9, nsec).In(zones[r.IntN(len(zones))])
	}
	return &t
}

func randRefund(r *rand.Rand) refundJSON {
	return refundJSON{ID: randString(r), Object: "refund", PaymentID: randString(r), Amount: r.Int64() - r.Int64(),
		Currency: randString(r), Status: randString(r), Reason: maybe(r, randString(r)), ResponseCode: maybe(r, randString(r)),
		CreatedAt: randTime(r)}
}

func randPayment(r *rand.Rand) paymentJSON {
	p := paymentJSON{
		ID: randString(r), Object: "payment", Status: randString(r), Amount: r.Int64N(1e12), Currency: randString(r),
		AmountCaptured: r.Int64() - r.Int64(), AmountRefunded: r.Int64N(1000), AmountRefundable: -r.Int64N(1000),
		Capture: r.IntN(2) == 0,
		Card: cardJSON{Brand: randString(r), First6: randString(r), Last4: randString(r), ExpMonth: r.IntN(13),
			ExpYear: int(r.Int64() - r.Int64()), Fingerprint: maybe(r, randString(r))},
		CardID: maybe(r, randString(r)), ConfirmationNumber: maybe(r, randString(r)), AuthCode: maybe(r, randString(r)),
		RRN: maybe(r, randString(r)), ResponseCode: maybe(r, randString(r)), DeclineCode: maybe(r, randString(r)),
		DeclineReason: maybe(r, randString(r)), Description: maybe(r, randString(r)), OrderID: maybe(r, randString(r)),
		ReceiptEmail: maybe(r, randString(r)), RequireAck: r.IntN(2) == 0, AckDeadline: randTime(r), AckedAt: randTime(r),
		VoidReason: maybe(r, randString(r)), CreatedAt: randTime(r), CapturedAt: randTime(r), VoidedAt: randTime(r),
		SettledAt: randTime(r),
	}
	switch r.IntN(3) {
	case 0:
		// nil: omitted
	case 1:
		p.Metadata = map[string]string{}
	default:
		p.Metadata = map[string]string{}
		for range r.IntN(20) + 1 {
			p.Metadata[randString(r)] = randString(r)
		}
	}
	if r.IntN(4) > 0 {
		p.Refunds = []refundJSON{}
		for range r.IntN(3) {
			p.Refunds = append(p.Refunds, randRefund(r))
		}
	}
	return p
}

// TestAppendJSONRandom: random payments, refunds and lists of payments are
// written as json.Marshal writes them. The seed is fixed: a failure is
// repeated by running the test again.
func TestAppendJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2026))
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		checkSameJSON(t, randPayment(r))
		checkSameJSON(t, randRefund(r))
	}
	for range n / 20 {
		l := paymentListJSON{Object: randString(r), HasMore: r.IntN(2) == 0}
		if r.IntN(5) > 0 {
			l.Data = []paymentJSON{}
			for range r.IntN(4) {
				l.Data = append(l.Data, randPayment(r))
			}
		}
		checkSameJSON(t, l)
	}
}

// TestAppendJSONFields: every field of the hand-written types, set by
// reflection to a value that is not its zero, is written as json.Marshal
// writes it: a field added to a type and not to its appendJSON fails here.
func TestAppendJSONFields(t *testing.T) {
	var p paymentJSON
	fill(reflect.ValueOf(&p).Elem(), 0)
	checkSameJSON(t, p)
	checkSameJSON(t, p.Refunds[0])
	checkSameJSON(t, paymentListJSON{Object: "list", Data: []paymentJSON{p, p}, HasMore: true})
}

// fill sets every field of v (and of the structs, slices and maps in it)
// to a value that is not its zero.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + v.Type().Name() + string(rune('a'+depth)))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(42 + depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), depth+1)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), depth+1)
		fill(v.Index(1), depth+2)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for _, k := range []string{"b", "a"} {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, depth+1)
			v.SetMapIndex(reflect.ValueOf(k), e)
		}
	default:
		panic("fill: no case for " + v.Kind().String())
	}
}

// TestAppendJSONGolden: edge values, written out.
func TestAppendJSONGolden(t *testing.T) {
	at := func(t time.Time) *time.Time { return &t }
	sale := paymentJSON{
		ID: "pay_1", Object: "payment", Status: "captured", Amount: 1050, Currency: "EUR", AmountCaptured: 1050,
		AmountRefundable: 1050, Capture: true,
		Card:     cardJSON{Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2031, Fingerprint: "fp_x"},
		AuthCode: "A1B2C3", RRN: "000000000001", ResponseCode: "00", OrderID: "o-1",
		Metadata:   map[string]string{"z": "last", "a": "first", "B": "upper", "é": "accent", "<k>": "v&w"},
		CreatedAt:  at(time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)),
		CapturedAt: at(time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("IST", 5*3600+1800))),
		Refunds: []refundJSON{{ID: "re_1", Object: "refund", PaymentID: "pay_1", Amount: -1, Currency: "EUR", Status: "succeeded",
			CreatedAt: at(time.Date(1, 1, 1, 0, 0, 0, 120000000, time.FixedZone("", -(3*3600+1800))))}},
	}
	tests := []struct {
		name string
		v    jsonAppender
		want string
	}{
		{"zero payment", paymentJSON{},
			`{"id":"","object":"","status":"","amount":0,"currency":"","amount_captured":0,"amount_refunded":0,"amount_refundable":0,"capture":false,"card":{"brand":"","first6":"","last4":"","exp_month":0,"exp_year":0},"require_ack":false,"refunds":null}`},
		{"empty metadata and refunds", paymentJSON{Metadata: map[string]string{}, Refunds: []refundJSON{}, CreatedAt: at(time.Time{})},
			`{"id":"","object":"","status":"","amount":0,"currency":"","amount_captured":0,"amount_refunded":0,"amount_refundable":0,"capture":false,"card":{"brand":"","first6":"","last4":"","exp_month":0,"exp_year":0},"require_ack":false,"created_at":"0001-01-01T00:00:00Z","refunds":[]}`},
		{"sale", sale,
			`{"id":"pay_1","object":"payment","status":"captured","amount":1050,"currency":"EUR","amount_captured":1050,"amount_refunded":0,"amount_refundable":1050,"capture":true,"card":{"brand":"visa","first6":"424242","last4":"4242","exp_month":12,"exp_year":2031,"fingerprint":"fp_x"},"auth_code":"A1B2C3","rrn":"000000000001","response_code":"00","order_id":"o-1","metadata":{"\u003ck\u003e":"v\u0026w","B":"upper","a":"first","z":"last","é":"accent"},"require_ack":false,"created_at":"2026-03-14T15:09:26.535897Z","captured_at":"2026-03-14T15:09:26+05:30","refunds":[{"id":"re_1","object":"refund","payment_id":"pay_1","amount":-1,"currency":"EUR","status":"succeeded","created_at":"0001-01-01T00:00:00.12-03:30"}]}`},
		{"escapes", refundJSON{ID: "<a href=\"x\">&</a>", Reason: "\u2028\u2029\x00\x1f\x7f\b\f\n\r\t\\/", ResponseCode: "\xff\xc3(é\xed\xa0\x80😀\xf0\x9f\x98"},
			`{"id":"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e","object":"","payment_id":"","amount":0,"currency":"","status":"","reason":"\u2028\u2029\u0000\u001f` + "\x7f" + `\b\f\n\r\t\\/","response_code":"\ufffd\ufffd(é\ufffd\ufffd\ufffd😀\ufffd\ufffd\ufffd"}`},
		{"list", paymentListJSON{Object: "list", Data: []paymentJSON{}, HasMore: true}, `{"object":"list","data":[],"has_more":true}`},
		{"nil list", paymentListJSON{}, `{"object":"","data":null,"has_more":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.appendJSON(nil)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v\nwant %s", got, err, tt.want)
			}
			checkSameJSON(t, tt.v)
		})
	}
}

// TestAppendJSONBadTime: a time RFC 3339 cannot write fails as it fails
// json.Marshal, and encodeAnswer reports json.Marshal's own error.
func TestAppendJSONBadTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
	} {
		for _, v := range []jsonAppender{
			paymentJSON{SettledAt: &tm},
			refundJSON{CreatedAt: &tm},
			paymentJSON{Refunds: []refundJSON{{}, {CreatedAt: &tm}}},
			paymentListJSON{Data: []paymentJSON{{}, {AckedAt: &tm}}},
		} {
			if _, err := v.appendJSON(nil); err == nil {
				t.Errorf("%v: appendJSON succeeded, want an error", tm)
			}
			checkSameJSON(t, v)
		}
	}
}

// TestEncodeAnswerPointers: pointers, nil ones among them, are answered as
// json.Marshal answers them.
func TestEncodeAnswerPointers(t *testing.T) {
	p := benchPayment()
	for _, v := range []any{(*paymentJSON)(nil), (*refundJSON)(nil), (*paymentListJSON)(nil), &p, &p.Refunds, map[string]string{"<": ">"}} {
		want, _ := json.Marshal(v)
		if got, err := encodeAnswer(v); err != nil || !bytes.Equal(got, append(want, '\n')) {
			t.Errorf("encodeAnswer(%T) = %s, %v; want %s", v, got, err, want)
		}
	}
}

// FuzzPaymentJSON: a payment and refund holding what the fuzzer makes are
// written as json.Marshal writes them.
func FuzzPaymentJSON(f *testing.F) {
	f.Add("pay_1", "captured", "<b>Tea & cake</b>", "o-1", "key", "value", "\u2028", int64(1050), int64(1773500966), int64(535897000), 0)
	f.Add("\xff", "\x00\x1f", "\"\\", "\xed\xa0\x80", "", "", "😀", int64(-1), int64(-62135596800), int64(0), 19800)
	f.Add("", "", "", "", "\xc3", "\xc3", "", int64(0), int64(253402300800), int64(1), 86400)
	f.Fuzz(func(t *testing.T, id, status, desc, orderID, key, value, reason string, amount, sec, nsec int64, offset int) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("", offset%(100*3600)))
		r := refundJSON{ID: id, Object: "refund", PaymentID: status, Amount: amount, Currency: key, Status: value,
			Reason: reason, ResponseCode: desc, CreatedAt: &tm}
		p := paymentJSON{ID: id, Object: "payment", Status: status, Amount: amount, Currency: value,
			Card:        cardJSON{Brand: key, First6: desc, Last4: reason, ExpMonth: offset, Fingerprint: orderID},
			Description: desc, OrderID: orderID, DeclineReason: reason, ReceiptEmail: value, CardID: key,
			Metadata: map[string]string{key: value, value: key, desc: reason}, AckedAt: &tm, CreatedAt: &tm,
			Refunds: []refundJSON{r, r}}
		checkSameJSON(t, p)
		checkSameJSON(t, r)
		checkSameJSON(t, paymentListJSON{Object: reason, Data: []paymentJSON{p}})
	})
}

// benchPayment is a captured sale as POST /v1/payments answers it.
func benchPayment() paymentJSON {
	created := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	captured := created.Add(3 * time.Millisecond)
	return paymentJSON{
		ID: "pay_2f9cKq7XbT3mWz8R", Object: "payment", Status: "captured", Amount: 1000, Currency: "USD",
		AmountCaptured: 1000, AmountRefundable: 1000, Capture: true,
		Card: cardJSON{Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2031,
			Fingerprint: "fp_9d3c0a6e51b84f27a1c5"},
		ConfirmationNumber: "CN7Q2M4K", AuthCode: "A1B2C3", RRN: "607315000123", ResponseCode: "00",
		OrderID: "bench", Metadata: map[string]string{"customer": "c_1042", "cart": "3 items"},
		CreatedAt: &created, CapturedAt: &captured, Refunds: []refundJSON{},
	}
}

// BenchmarkPaymentJSON compares encoding/json with appendJSON on a sale's
// answer, rendered as respond renders it (newline included):
//
//	go test ./http -run '^$' -bench PaymentJSON -benchtime 1s
func BenchmarkPaymentJSON(b *testing.B) {
	var v any = benchPayment() // as a handler returns it
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// What respond did before appendJSON.
			out, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			_ = append(out, '\n')
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeAnswer(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
