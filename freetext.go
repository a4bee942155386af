package paygate

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Card numbers in free text: finding them (a person may write one with any
// separators, in any Unicode digits) to refuse them in what is stored and
// to mask them in what is echoed or logged.

// RedactPANs masks every run of digits that holds 12 or more of them, for
// anything that echoes or logs what a user sent. A run is what digitRuns
// finds: groups of digits (any Unicode decimal digits) joined by anything
// that is not a letter, so "4242/4242/4242/4242", "4242_4242…", fullwidth
// digits and non-breaking spaces are masked as surely as "4242424242424242".
// The whole run, separators included, becomes the masked digits.
func RedactPANs(s string) string {
	return maskRuns(s, func(digits []byte, _ []digitGroup) bool { return len(digits) >= 12 })
}

// RedactCardNumbers masks only runs that hold a card number as CheckFreeText
// sees one (Luhn-valid, of a known brand and length). It is the safety net
// for text the server wrote itself, where quoted user input has already
// been through RedactPANs: it cannot mangle the server's own numbers (limits
// such as MaxAmount, amounts of at most 12 digits, counts), which are never
// of a card brand's length.
func RedactCardNumbers(s string) string {
	return maskRuns(s, func(digits []byte, groups []digitGroup) bool { return holdsPAN(s, digits, groups) })
}

// maskRuns replaces each digit run of s that mask selects with the run's
// digits masked.
func maskRuns(s string, mask func(digits []byte, groups []digitGroup) bool) string {
	var b strings.Builder
	last := 0
	digitRuns(s, func(start, end int, digits []byte, groups []digitGroup) {
		if !mask(digits, groups) {
			return
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(MaskPAN(string(digits)))
		last = end
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// CheckFreeText refuses free text (descriptions, order ids, metadata, names,
// headers) that holds a card number, however it is written (see holdsPAN):
// such text would be stored and shown in clear.
func CheckFreeText(param, s string) error {
	found := false
	digitRuns(s, func(_, _ int, digits []byte, groups []digitGroup) {
		found = found || holdsPAN(s, digits, groups)
	})
	if found {
		return ParamErrorf(EINVALID, param, "Parameter %q seems to hold a card number; card numbers belong only in card[number].", param)
	}
	return nil
}

// holdsPAN reports whether a run of digits of s holds a card number: a
// Luhn-valid number of a known brand and length, either anywhere in a group
// of digits written together ("ref94242424242424242"), or made of whole
// groups of 3 or more digits with one kind of separator between them, as
// people write card numbers: "4242 4242 4242 4242", "4242/4242/4242/4242",
// "4242, 4242, 4242, 4242", "3782_822463_10005", with any spaces (no-break,
// zero-width...) around the separator. Whole groups and one separator are
// what keep ordinary text apart: two phone numbers, a list of amounts or a
// date and a time joined by punctuation would otherwise hold some 13 to 19
// digits that pass, one time in four or more (measured).
func holdsPAN(s string, digits []byte, groups []digitGroup) bool {
	if len(digits) < 13 {
		return false
	}
	end := func(k int) int {
		if k+1 < len(groups) {
			return groups[k+1].at
		}
		return len(digits)
	}
	for k, g := range groups {
		if end(k)-g.at >= 13 && panWithin(digits[g.at:end(k)]) {
			return true
		}
	}
	for a := range groups {
		if end(a)-groups[a].at < 3 {
			continue
		}
		for b := a + 1; b < len(groups); b++ {
			n := end(b) - groups[a].at
			if end(b)-groups[b].at < 3 || n > 19 || b > a+1 && !sameSeparator(s, groups[a+1], groups[b]) {
				break
			}
			if n >= 13 && isPAN(string(digits[groups[a].at:end(b)])) {
				return true
			}
		}
	}
	return false
}

// digitGroup is a group of digits written together in a run: at is where
// it starts in the run's digits, and s[sepStart:sepEnd] is the separator
// before it (empty for the first group).
type digitGroup struct {
	at               int
	sepStart, sepEnd int
}

// sameSeparator reports whether groups x and y follow the same separator,
// spaces of every kind (and zero-width characters) aside.
func sameSeparator(s string, x, y digitGroup) bool {
	i, j := x.sepStart, y.sepStart
	for {
		var r1, r2 rune = -1, -1
		for i < x.sepEnd {
			r, w := nextRune(s, i)
			i += w
			if !ignorable(r) {
				r1 = r
				break
			}
		}
		for j < y.sepEnd {
			r, w := nextRune(s, j)
			j += w
			if !ignorable(r) {
				r2 = r
				break
			}
		}
		if r1 != r2 {
			return false
		}
		if r1 == -1 {
			return true
		}
	}
}

func ignorable(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// digitRuns calls fn for each run of digits in s, in order. A run is one or
// more groups of decimal digits (ASCII or any other Unicode decimal digits,
// such as fullwidth ones) joined by separators: anything that is neither a
// letter nor a digit (spaces of every kind, punctuation, symbols, control
// characters, bytes that are not UTF-8). Letters end a run, so ordinary text
// ("order 12, item 34") keeps its numbers apart. start and end are the byte
// offsets of the run's first digit and just past its last; digits holds
// the run's digits in ASCII and groups its groups, valid only during the
// call.
func digitRuns(s string, fn func(start, end int, digits []byte, groups []digitGroup)) {
	if !mayHoldDigits(s) {
		return // most text: no run, and nothing allocated below
	}
	var darr [32]byte
	var garr [8]digitGroup
	digits, groups := darr[:0], garr[:0]
	for i := 0; i < len(s); {
		r, w := nextRune(s, i)
		if digitValue(r) < 0 {
			i += w
			continue
		}
		start, end := i, i
		digits, groups = digits[:0], append(groups[:0], digitGroup{})
		j := i
		for j < len(s) {
			r, w := nextRune(s, j)
			if d := digitValue(r); d >= 0 {
				if end < j { // digits again after a separator: a new group
					groups = append(groups, digitGroup{at: len(digits), sepStart: end, sepEnd: j})
				}
				digits = append(digits, byte('0'+d))
				j += w
				end = j
				continue
			}
			if isLetter(r) {
				break
			}
			j += w // a separator: the run goes on if digits follow
		}
		fn(start, end, digits, groups)
		i = j
	}
}

func nextRune(s string, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

// digitValue returns the value of a decimal digit, ASCII or any other
// Unicode one (category Nd), or -1. Unicode assigns decimal digits only in
// contiguous runs of ten, from 0 to 9, so a digit's value is its distance
// from the start of its range in the Nd table, modulo ten (the table merges
// adjacent runs; TestUnicodeDigitRanges checks that every range is whole runs).
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if r < utf8.RuneSelf || !unicode.IsDigit(r) {
		return -1
	}
	if r <= 0xFFFF {
		for _, rg := range unicode.Nd.R16 {
			if uint16(r) >= rg.Lo && uint16(r) <= rg.Hi {
				return int(uint16(r)-rg.Lo) % 10
			}
		}
		return -1
	}
	for _, rg := range unicode.Nd.R32 {
		if uint32(r) >= rg.Lo && uint32(r) <= rg.Hi {
			return int(uint32(r)-rg.Lo) % 10
		}
	}
	return -1
}

// panWithin reports whether some 13-19 digit window of digits is a card
// number.
func panWithin(digits []byte) bool {
	ds := string(digits)
	for start := 0; start+13 <= len(ds); start++ {
		for end := start + 13; end <= len(ds) && end-start <= 19; end++ {
			if isPAN(ds[start:end]) {
				return true
			}
		}
	}
	return false
}

// isPAN reports whether digits are a Luhn-valid number of a known brand and
// of one of its lengths.
func isPAN(pan string) bool {
	brand := CardBrand(pan)
	if brand == "" || !slices.Contains(validLengths[brand], len(pan)) {
		return false
	}
	return Luhn(pan)
}

// mayHoldDigits reports whether s has an ASCII digit or a byte past ASCII
// (where other scripts' digits are).
func mayHoldDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || '0' <= c && c <= '9' {
			return true
		}
	}
	return false
}
