package http

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The plain parser of a sale's body is held to decode: what it takes,
// decode takes and reads into the same struct; what it does not take is
// left to decode, errors and all.

const plainSale = `{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"},"order_id":"bench"}`

// checkSameRequest fails t unless decodePaymentRequest reads body as
// decode does (the same struct, the same error), and the plain parser, if
// it takes body, reads it into what decode reads.
func checkSameRequest(t testing.TB, body []byte) (plain bool) {
	t.Helper()
	var want paymentRequest
	werr := decode(body, &want, false)
	got, gerr := decodePaymentRequest(body)
	if !reflect.DeepEqual(gerr, werr) || !reflect.DeepEqual(got, want) {
		// The body may hold a card number: it is not shown.
		t.Fatalf("decodePaymentRequest and decode differ on a body of %d bytes: errors %v and %v", len(body), gerr, werr)
	}
	fast, ok := parsePaymentRequest(body)
	if ok && (werr != nil || !reflect.DeepEqual(fast, want)) {
		t.Fatalf("parsePaymentRequest took a body of %d bytes that decode reads otherwise (decode's error: %v)", len(body), werr)
	}
	return ok
}

// TestParsePaymentRequestPlain: what merchants send takes the plain path.
func TestParsePaymentRequestPlain(t *testing.T) {
	for _, body := range []string{
		plainSale,
		`{}`,
		" \t\r\n{ \"amount\" : -0 , \"capture\" : false }\n",
		`{"amount":9223372036854775807,"currency":"","card":{},"card_id":"card_1","capture":true,"description":"Tea & <cake> é 😀 ` + "\u007f\ufffd" + `","order_id":"o","metadata":{},"receipt_email":"a@b.c","require_ack":false}`,
		`{"amount":-9223372036854775808,"card":{"name":"Ada Lovelace","cvc":"","exp_year":-1,"exp_month":0,"number":""},"metadata":{"":"","a":"1","A":"2","é":"` + "\ufffd" + `"}}`,
		`{"require_ack":true,"metadata":{"k":"v"},"amount":1}`,
	} {
		if !checkSameRequest(t, []byte(body)) {
			t.Errorf("parsePaymentRequest refused plain body %s", body)
		}
	}
}

// TestParsePaymentRequestGivesUp: what is not in the plainest spelling is
// left to decode, which reads it (or refuses it) as it always has.
func TestParsePaymentRequestGivesUp(t *testing.T) {
	for _, body := range []string{
		``, ` `, "\u00a0{}", "\ufeff{}", `null`, `[]`, `"x"`, `1`, `{`, `{"amount":`, `{"amount"}`, `{"amount":1,}`, `{,}`,
		`{"amount":1}{}`, `{"amount":1} x`, `{"amount":1}` + "\u00a0", `{"amount":1}` + "\v",
		`{"amount":null}`, `{"currency":null}`, `{"card":null}`, `{"metadata":null}`, `{"capture":null}`,
		`{"amount":1.0}`, `{"amount":10.50}`, `{"amount":1e3}`, `{"amount":1E3}`, `{"amount":01}`, `{"amount":-01}`, `{"amount":-}`,
		`{"amount":+1}`, `{"amount":99999999999999999999}`, `{"amount":9223372036854775808}`, `{"amount":"1000"}`,
		`{"amount":1000x}`, `{"capture":truex}`, `{"capture":tru}`, `{"capture":"true"}`, `{"capture":1}`,
		`{"currency":"U\u0053D"}`, `{"currency":"\"USD"}`, "{\"currency\":\"US\tD\"}", "{\"currency\":\"US\x00D\"}",
		`{"currency":"USD`, `{"currency":"\xff"}`, "{\"description\":\"\xed\xa0\x80\"}",
		`{"amount":1,"amount":2}`, `{"amount":1,"AMOUNT":2}`, `{"Amount":1}`, `{"am\u006funt":1}`, `{"colour":"red"}`,
		`{"card":{"number":"4242","number":"4343"}}`, `{"card":{"cvv":"123"}}`, `{"card":{"exp_month":"12"}}`, `{"card":{"exp_month":1.5}}`,
		`{"card":[]}`, `{"card":{},"card":{}}`, `{"card":"4242424242424242"}`,
		`{"metadata":{"a":1}}`, `{"metadata":{"a":"1","a":"2"}}`, `{"metadata":{"a":null}}`, `{"metadata":[]}`, `{"metadata":{"\u0061":"1"}}`,
		`{"metadata":{"a":"1"},"metadata":{}}`, `{"metadata":{"a":{"b":"c"}}}`,
		`{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}}`,
	} {
		if checkSameRequest(t, []byte(body)) {
			t.Errorf("parsePaymentRequest took %s", body)
		}
	}
}

// requestPieces are what random request bodies are made of.
var (
	requestKeys = []string{"amount", "currency", "card", "card_id", "capture", "description", "order_id", "metadata",
		"receipt_email", "require_ack", "number", "exp_month", "exp_year", "cvc", "name", "Amount", "AMOUNT", `am\u006funt`, "colour", "", "é"}
	cardKeys        = []string{"number", "exp_month", "exp_year", "cvc", "name"}
	requestIntegers = []string{`0`, `-0`, `1000`, `-5`, `12`, `2031`, `9223372036854775807`, `-9223372036854775808`}
	requestStrings  = []string{`""`, `"USD"`, `"4242424242424242"`, `"Tea & <cake>"`, `"é😀"`, `" "`, "\"\x7f\"", `"\/"`}
	requestScalars  = []string{`01`, `1.0`, `10.50`, `1e3`, `-`, `9223372036854775808`, `99999999999999999999`, `true`, `false`,
		`null`, `tru`, `"\u0041"`, `"a\"b"`, `"a\\b"`, `"\n"`, "\"\t\"", "\"\x01\"", `"\ud800"`, `[]`, `[1,"a"]`, `{}`}
	requestSpace = []string{"", "", "", " ", "\n", "\t", "\r\n  ", "\v", "\u00a0"}
)

// randRequest writes a random request body, near enough to a real one
// that the plain parser takes many of them. Where typed, keys are a
// payment request's (card's, when card) and their values of their types.
func randRequest(r *rand.Rand, sb *strings.Builder, depth int, typed, card bool) {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	space := func() {
		if !typed || r.IntN(4) == 0 {
			sb.WriteString(pick(requestSpace[:7]))
		}
		if !typed && r.IntN(10) == 0 {
			sb.WriteString(pick(requestSpace))
		}
	}
	space()
	sb.WriteByte('{')
	n := r.IntN(7)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		space()
		key := pick(requestKeys)
		switch {
		case typed && card:
			key = pick(cardKeys)
		case typed && depth == 0:
			key = pick(requestKeys[:10])
		case typed:
			key = pick(requestKeys) // a metadata key
		}
		sb.WriteString(`"` + key + `"`)
		space()
		sb.WriteByte(':')
		space()
		switch {
		case typed && depth == 1 && !card: // metadata
			sb.WriteString(pick(requestStrings))
		case typed && (key == "amount" || key == "exp_month" || key == "exp_year"):
			sb.WriteString(pick(requestIntegers))
		case typed && (key == "capture" || key == "require_ack"):
			sb.WriteString(pick([]string{"true", "false"}))
		case typed && (key == "card" || key == "metadata"):
			randRequest(r, sb, depth+1, r.IntN(8) > 0, key == "card")
		case typed:
			sb.WriteString(pick(requestStrings))
		case depth < 2 && r.IntN(6) == 0:
			randRequest(r, sb, depth+1, r.IntN(2) == 0, key == "card")
		default:
			sb.WriteString(pick(append(requestScalars, append(requestIntegers, requestStrings...)...)))
		}
		space()
	}
	if n > 0 && r.IntN(20) == 0 {
		sb.WriteByte(',')
	}
	sb.WriteByte('}')
	space()
}

// TestDecodePaymentRequestRandom: random bodies, some mangled, are read as
// decode reads them. The seed is fixed: a failure is repeated by running
// the test again.
func TestDecodePaymentRequestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2026))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	plain := 0
	for range n {
		var sb strings.Builder
		randRequest(r, &sb, 0, r.IntN(4) > 0, false)
		body := []byte(sb.String())
		if r.IntN(4) == 0 && len(body) > 0 {
			// Mangle a byte.
			i := r.IntN(len(body))
			switch r.IntN(3) {
			case 0:
				body = append(body[:i:i], body[i+1:]...)
			case 1:
				body[i] = byte(r.IntN(256))
			default:
				body = append(body[:i:i], append([]byte{"{}[]\",:0-e.\\ntf"[r.IntN(15)]}, body[i:]...)...)
			}
		}
		if checkSameRequest(t, body) {
			plain++
		}
	}
	t.Logf("the plain parser took %d bodies of %d", plain, n)
	if plain < n/20 {
		t.Errorf("the plain parser took %d bodies of %d: the test no longer tests it", plain, n)
	}
}

// FuzzDecodePaymentRequest: any body is read by decodePaymentRequest as
// decode reads it.
func FuzzDecodePaymentRequest(f *testing.F) {
	for _, s := range []string{plainSale, `{}`, `{"amount":1.0}`, `{"metadata":{"a":"1","a":"2"}}`, `{"card":{"number":"4\u0032"}}`, " {\"capture\":true}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameRequest(t, body)
	})
}

// BenchmarkDecodePaymentRequest compares decode with the plain parser on
// a sale's body:
//
//	go test ./http -run '^$' -bench DecodePaymentRequest -benchtime 1s
func BenchmarkDecodePaymentRequest(b *testing.B) {
	body := []byte(plainSale)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req paymentRequest
			if err := decode(body, &req, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodePaymentRequest(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
