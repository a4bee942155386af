package http

import (
	"strconv"
	"unicode/utf8"
)

// A sale's body is read first by a hand-written parser that takes only the
// plainest spelling of a payment request: one JSON object, each key one of
// paymentRequest's (or cardRequest's) exactly and once, written without
// escapes, each value of its field's type (integers without fraction or
// exponent, strings without escapes, true or false; no null), metadata an
// object of such strings. That is what merchants send, and decode, which
// walks the body twice through encoding/json's tokenizer and decoder,
// spent most of a sale's decoding time on it. On anything else, be it an
// error or only a spelling the parser does not know (an escape, a null, a
// float), it gives up and decode reads the body from the start, so that
// every refusal comes from decode, in decode's words. What the parser
// takes, decode takes too and reads into the same struct
// (FuzzDecodePaymentRequest holds the two to it).

// decodePaymentRequest reads the body of POST /v1/payments as decode does.
func decodePaymentRequest(body []byte) (paymentRequest, error) {
	if req, ok := parsePaymentRequest(body); ok {
		return req, nil
	}
	var req paymentRequest
	err := decode(body, &req, false)
	return req, err
}

// parsePaymentRequest parses body if it is a payment request in the
// plainest spelling, and reports whether it was.
func parsePaymentRequest(body []byte) (paymentRequest, bool) {
	var req paymentRequest
	if !utf8.Valid(body) {
		return req, false
	}
	p := plainParser{b: body}
	var seen uint16
	ok := p.object(func(key []byte) bool {
		var bit uint16
		ok := false
		switch string(key) {
		case "amount":
			bit = 1 << 0
			var n int64
			n, ok = p.int(64)
			req.Amount = &n
		case "currency":
			bit = 1 << 1
			req.Currency, ok = p.string()
		case "card":
			bit = 1 << 2
			req.Card = new(cardRequest)
			ok = p.card(req.Card)
		case "card_id":
			bit = 1 << 3
			req.CardID, ok = p.string()
		case "capture":
			bit = 1 << 4
			var v bool
			v, ok = p.bool()
			req.Capture = &v
		case "description":
			bit = 1 << 5
			req.Description, ok = p.string()
		case "order_id":
			bit = 1 << 6
			req.OrderID, ok = p.string()
		case "metadata":
			bit = 1 << 7
			req.Metadata, ok = p.stringMap()
		case "receipt_email":
			bit = 1 << 8
			req.ReceiptEmail, ok = p.string()
		case "require_ack":
			bit = 1 << 9
			var v bool
			v, ok = p.bool()
			req.RequireAck = &v
		default:
			return false
		}
		return p.once(&seen, bit) && ok
	})
	if !ok {
		return req, false
	}
	p.space()
	return req, p.i == len(p.b)
}

// plainParser reads JSON in the plainest spelling. Each method reports
// whether what it met was in that spelling.
type plainParser struct {
	b []byte
	i int // where it reads next
}

// once reports whether bit was not yet in *seen, and sets it.
func (p *plainParser) once(seen *uint16, bit uint16) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// space skips JSON whitespace.
func (p *plainParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// object reads an object, calling member for each key (which is p's
// bytes) to read its value.
func (p *plainParser) object(member func(key []byte) bool) bool {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false
	}
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return true
	}
	for {
		p.space()
		key, ok := p.bytes()
		if !ok {
			return false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.space()
		if !member(key) {
			return false
		}
		p.space()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// string reads a string without escapes or control characters.
func (p *plainParser) string() (string, bool) {
	b, ok := p.bytes()
	return string(b), ok
}

// bytes reads a string without escapes or control characters and returns
// its bytes, which are p's. The body is valid UTF-8, so they are the
// string's as encoding/json reads it.
func (p *plainParser) bytes() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], true
		case c == '\\' || c < ' ':
			return nil, false
		}
	}
	return nil, false
}

// int reads an integer without fraction or exponent that fits in bits.
func (p *plainParser) int(bits int) (int64, bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	switch n := p.i - digits; {
	case n == 0, n > 1 && p.b[digits] == '0': // none, or a leading zero
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, bits)
	return n, err == nil
}

// bool reads true or false.
func (p *plainParser) bool() (bool, bool) {
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}

// card reads a card object into c.
func (p *plainParser) card(c *cardRequest) bool {
	var seen uint16
	return p.object(func(key []byte) bool {
		var bit uint16
		ok := false
		switch string(key) {
		case "number":
			bit = 1 << 0
			c.Number, ok = p.string()
		case "exp_month":
			bit = 1 << 1
			var n int64
			n, ok = p.int(strconv.IntSize)
			c.ExpMonth = int(n)
		case "exp_year":
			bit = 1 << 2
			var n int64
			n, ok = p.int(strconv.IntSize)
			c.ExpYear = int(n)
		case "cvc":
			bit = 1 << 3
			c.CVC, ok = p.string()
		case "name":
			bit = 1 << 4
			c.Name, ok = p.string()
		default:
			return false
		}
		return p.once(&seen, bit) && ok
	})
}

// stringMap reads an object of strings, each key once.
func (p *plainParser) stringMap() (map[string]string, bool) {
	m := map[string]string{}
	ok := p.object(func(key []byte) bool {
		if _, dup := m[string(key)]; dup {
			return false
		}
		v, ok := p.string()
		m[string(key)] = v
		return ok
	})
	return m, ok
}
