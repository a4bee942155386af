package paygate

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Card brands. Wire names: add, never rename.
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandAmex       = "amex"
	BrandDiscover   = "discover"
	BrandJCB        = "jcb"
	BrandUnionPay   = "unionpay"
	BrandDiners     = "diners"
)

// Card is a card as the cardholder typed it. It exists only in memory: the
// number is vaulted (encrypted) before it is stored and the CVC is never
// stored at all. String, GoString and LogValue mask it so that a careless
// log line or %v cannot leak it.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
	Name     string
}

// String shows the card masked.
func (c Card) String() string { return MaskPAN(c.Number) }

// GoString shows the card masked, also for %#v.
func (c Card) GoString() string { return "paygate.Card{" + MaskPAN(c.Number) + "}" }

// LogValue keeps slog from printing the number or the CVC.
func (c Card) LogValue() slog.Value { return slog.StringValue(MaskPAN(c.Number)) }

// CardSummary is what may be shown of a card: brand, BIN, last four, expiry.
type CardSummary struct {
	Brand       string
	First6      string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string // keyed HMAC of the number, stable per vault
}

// Summary returns the displayable part of the card (without fingerprint).
func (c Card) Summary() CardSummary {
	n := c.Number
	s := CardSummary{Brand: CardBrand(n), ExpMonth: c.ExpMonth, ExpYear: c.ExpYear}
	if len(n) >= 10 {
		s.First6, s.Last4 = n[:6], n[len(n)-4:]
	}
	return s
}

// panSeparators are what a person may type between digits.
var panSeparators = strings.NewReplacer(" ", "", "-", "")

// NormalizePAN strips spaces and dashes a person may type.
func NormalizePAN(s string) string {
	if !strings.ContainsAny(s, " -") {
		return s
	}
	return panSeparators.Replace(s)
}

// digitsOnly keeps the digits of s.
func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// Luhn reports whether s, all digits, passes the mod-10 check.
func Luhn(s string) bool {
	if len(s) == 0 {
		return false
	}
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// LuhnCheckDigit returns the digit that completes partial to a Luhn-valid number.
func LuhnCheckDigit(partial string) byte {
	for d := byte('0'); d <= '9'; d++ {
		if Luhn(partial + string(d)) {
			return d
		}
	}
	return '0'
}

// CardBrand returns the brand of a card number by its prefix, or "" if unknown.
func CardBrand(pan string) string {
	p := func(n int) int {
		if len(pan) < n {
			return -1
		}
		v, err := strconv.Atoi(pan[:n])
		if err != nil {
			return -1
		}
		return v
	}
	switch {
	case p(1) == 4:
		return BrandVisa
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720:
		return BrandMastercard
	case p(2) == 34, p(2) == 37:
		return BrandAmex
	case p(4) == 6011, p(3) >= 644 && p(3) <= 649, p(2) == 65:
		return BrandDiscover
	case p(4) >= 3528 && p(4) <= 3589:
		return BrandJCB
	case p(2) == 62:
		return BrandUnionPay
	case p(2) == 36, p(3) >= 300 && p(3) <= 305, p(2) == 38:
		return BrandDiners
	}
	return ""
}

// validLengths lists the card number lengths each brand issues.
var validLengths = map[string][]int{
	BrandVisa:       {13, 16, 19},
	BrandMastercard: {16},
	BrandAmex:       {15},
	BrandDiscover:   {16, 19},
	BrandJCB:        {16, 17, 18, 19},
	BrandUnionPay:   {16, 17, 18, 19},
	BrandDiners:     {14, 16, 19},
}

// CVCLength is the CVC length a brand uses: 4 for Amex, 3 for the rest.
func CVCLength(brand string) int {
	if brand == BrandAmex {
		return 4
	}
	return 3
}

// ValidatePAN checks digits, length, brand and Luhn. The error never contains
// the number.
func ValidatePAN(pan, param string) error {
	if pan == "" {
		return ParamErrorf(EMISSING, param, "Card number is required.")
	}
	for i := 0; i < len(pan); i++ {
		if pan[i] < '0' || pan[i] > '9' {
			return ParamErrorf(ENUMBER, param, "Card number must contain only digits.")
		}
	}
	if len(pan) < 12 || len(pan) > 19 {
		return ParamErrorf(ENUMBER, param, "Card number must be 12 to 19 digits long.")
	}
	brand := CardBrand(pan)
	if brand == "" {
		return ParamErrorf(EUNSUPPORTEDBRAND, param, "Card brand is not supported.")
	}
	okLen := false
	for _, n := range validLengths[brand] {
		okLen = okLen || n == len(pan)
	}
	if !okLen {
		return ParamErrorf(ENUMBER, param, "Card number has the wrong length for a %s card.", brand)
	}
	if !Luhn(pan) {
		return ParamErrorf(ENUMBER, param, "Card number is incorrect.")
	}
	return nil
}

// ValidateExpiry checks month and year, and that the card has not expired by
// now. A card is valid through the last day of its expiry month.
func ValidateExpiry(month, year int, now time.Time) error {
	if month < 1 || month > 12 {
		return ParamErrorf(EEXPIRY, "card[exp_month]", "Expiry month must be between 1 and 12.")
	}
	if year < 100 {
		year += 2000
	}
	if year < 2000 || year > 2100 {
		return ParamErrorf(EEXPIRY, "card[exp_year]", "Expiry year is invalid.")
	}
	now = now.UTC()
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return ParamErrorf(EEXPIRED, "card[exp_year]", "The card has expired.")
	}
	if year > now.Year()+50 {
		return ParamErrorf(EEXPIRY, "card[exp_year]", "Expiry year is too far in the future.")
	}
	return nil
}

// Validate checks a card as the cardholder typed it, the cardholder name
// included (free text: no card number in it). requireCVC is false for
// merchant-initiated charges of a stored card.
func (c *Card) Validate(now time.Time, requireCVC bool) error {
	if len(c.Name) > 100 {
		return ParamErrorf(EINVALID, "card[name]", "Cardholder name must be at most 100 characters.")
	}
	if err := CheckFreeText("card[name]", c.Name); err != nil {
		return err
	}
	c.Number = NormalizePAN(c.Number)
	if err := ValidatePAN(c.Number, "card[number]"); err != nil {
		return err
	}
	if c.ExpYear > 0 && c.ExpYear < 100 {
		c.ExpYear += 2000
	}
	if err := ValidateExpiry(c.ExpMonth, c.ExpYear, now); err != nil {
		return err
	}
	if c.CVC == "" {
		if requireCVC {
			return ParamErrorf(EMISSING, "card[cvc]", "Card security code is required.")
		}
		return nil
	}
	want := CVCLength(CardBrand(c.Number))
	if len(c.CVC) != want || strings.Trim(c.CVC, "0123456789") != "" {
		return ParamErrorf(ECVC, "card[cvc]", "Card security code must be %d digits for this card.", want)
	}
	return nil
}

// MaskPAN shows at most the first six and last four digits (PCI DSS 3.4.1),
// and of a number shorter than 13 digits only the last four, so that at
// least half of it is always hidden.
func MaskPAN(pan string) string {
	switch {
	case len(pan) <= 8:
		return strings.Repeat("*", len(pan))
	case len(pan) < 13:
		return strings.Repeat("*", len(pan)-4) + pan[len(pan)-4:]
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

// Format masks the card for every fmt verb (%v, %+v, %s, %d, %x, ...).
func (c Card) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, MaskPAN(c.Number))
}

// MarshalJSON masks the card: a card never leaves in JSON whole.
func (c Card) MarshalJSON() ([]byte, error) {
	return []byte(`"` + MaskPAN(c.Number) + `"`), nil
}

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
