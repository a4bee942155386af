package paygate

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
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
