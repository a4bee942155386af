package paygate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Pricing is what a merchant pays per transaction, deducted from its
// deposits. Blended: Percent of each debit plus Fixed per transaction.
// Interchange-plus: the card network's interchange and scheme fees
// (Interchange) plus Percent and Fixed as the markup. Percent is in basis
// points (250 = 2.50 %); Fixed in minor units. Refunds are not charged.
type Pricing struct {
	Kind    string // PricingBlended or PricingInterchangePlus
	Percent int64  // basis points
	Fixed   int64  // minor units per debit
}

// Pricing kinds. Wire names.
const (
	PricingBlended         = "blended"
	PricingInterchangePlus = "interchange_plus"
)

// DefaultPricing is a merchant's pricing until it is set: 2.90 % + 30.
var DefaultPricing = Pricing{Kind: PricingBlended, Percent: 290, Fixed: 30}

// Code is the pricing as the 0500 names it to the acquirer, such as
// "blended:290:30".
func (p Pricing) Code() string { return fmt.Sprintf("%s:%d:%d", p.Kind, p.Percent, p.Fixed) }

// ParsePricing reads a Code.
func ParsePricing(code string) (Pricing, error) {
	parts := strings.Split(code, ":")
	if len(parts) != 3 || (parts[0] != PricingBlended && parts[0] != PricingInterchangePlus) {
		return Pricing{}, fmt.Errorf("pricing %q: want blended:<basis points>:<fixed> or interchange_plus:<bp>:<fixed>", code)
	}
	pct, err1 := strconv.ParseInt(parts[1], 10, 64)
	fixed, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || pct < 0 || pct > 10000 || fixed < 0 {
		return Pricing{}, fmt.Errorf("pricing %q: percent in basis points 0..10000, fixed not negative", code)
	}
	return Pricing{Kind: parts[0], Percent: pct, Fixed: fixed}, nil
}

// InterchangeRate is one row of the simulated card networks' fee table:
// interchange (to the issuer) plus scheme fee (to the network), a
// percentage in hundredths of a basis point plus a fixed amount, by brand
// and card type. Figures are in the spirit of published US interchange.
type InterchangeRate struct {
	Brand    string
	CardType string
	Rate     int64 // hundredths of a basis point: 15100 = 1.51 %
	Fixed    int64 // minor units
}

// InterchangeTable is the simulated networks' fees. A brand and type not
// listed uses the brand's "credit" row; an unknown brand, the last row.
var InterchangeTable = []InterchangeRate{
	{"visa", "credit", 18000, 10},
	{"visa", "debit", 5000, 21},
	{"visa", "prepaid", 11500, 15},
	{"mastercard", "credit", 18900, 10},
	{"mastercard", "debit", 5000, 21},
	{"mastercard", "prepaid", 12500, 15},
	{"amex", "credit", 25000, 10},
	{"discover", "credit", 17500, 10},
	{"discover", "debit", 5500, 22},
	{"jcb", "credit", 20000, 10},
	{"unionpay", "credit", 19000, 10},
	{"diners", "credit", 20500, 10},
	{"", "credit", 25000, 15},
}

// Card types, as the fee tables know them. Wire names.
const (
	CardCredit  = "credit"
	CardDebit   = "debit"
	CardPrepaid = "prepaid"
)

// CardTypeBINs are the simulated networks' BIN ranges (first six digits) of
// debit and prepaid cards; every other card is a credit card. The test
// cards 4000056655665556 (Visa debit), 5200828282828210 (Mastercard debit)
// and 5105105105105100 (Mastercard prepaid) are in them.
var CardTypeBINs = map[string]string{
	"400005": CardDebit,
	"520082": CardDebit,
	"510510": CardPrepaid,
}

// CardType returns the type of a card by its first six digits.
func CardType(first6 string) string {
	if len(first6) > 6 {
		first6 = first6[:6]
	}
	if t, ok := CardTypeBINs[first6]; ok {
		return t
	}
	return CardCredit
}

// Interchange returns the network fee of a debit.
func Interchange(brand, cardType string, amount int64) int64 {
	row := InterchangeTable[len(InterchangeTable)-1]
	found := false
	for _, r := range InterchangeTable {
		if r.Brand == brand && r.CardType == cardType {
			row, found = r, true
			break
		}
	}
	if !found {
		for _, r := range InterchangeTable {
			if r.Brand == brand && r.CardType == "credit" {
				row = r
				break
			}
		}
	}
	return percentOf(amount, row.Rate, 1_000_000) + row.Fixed
}

// percentOf is amount × num / den, rounded half up, in integers.
func percentOf(amount, num, den int64) int64 {
	return (amount*num + den/2) / den
}

// Fee is what the merchant pays for one batch item under p (refunds: 0).
func (p Pricing) Fee(it *BatchItem) int64 {
	if it.Kind != "debit" {
		return 0
	}
	fee := percentOf(it.Amount, p.Percent, 10_000) + p.Fixed
	if p.Kind == PricingInterchangePlus {
		fee += Interchange(it.CardBrand, it.CardType, it.Amount)
	}
	return fee
}

// NextBusinessDay returns the date (YYYY-MM-DD) of the first weekday after
// t, in loc: a deposit's funding date.
func NextBusinessDay(t time.Time, loc *time.Location) string {
	day, _ := FundingDay(t, loc)
	return day
}

// FundingDay returns the next business day after t in loc (skipping
// Saturday and Sunday), as YYYY-MM-DD and as the instant it starts there.
func FundingDay(t time.Time, loc *time.Location) (string, time.Time) {
	d := t.In(loc)
	for {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return d.Format(time.DateOnly), time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		}
	}
}

// DefaultCutoff is a merchant's daily cut-off until it sets one.
const DefaultCutoff = "23:59"

// Location returns the merchant's time zone (UTC if unset or unknown).
func (m *Merchant) Location() *time.Location {
	if m.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// NextCutoff returns the merchant's first daily cut-off after t: the
// cut-off's wall time in the merchant's time zone, on t's day or the next
// (across daylight-saving changes, the wall time as the zone has it that
// day; a wall time a change skips is the instant after it).
func (m *Merchant) NextCutoff(t time.Time) time.Time {
	cut := m.Cutoff
	if cut == "" {
		cut = DefaultCutoff
	}
	hm, err := time.Parse("15:04", cut)
	if err != nil {
		hm, _ = time.Parse("15:04", DefaultCutoff)
	}
	loc := m.Location()
	local := t.In(loc)
	for day := 0; ; day++ {
		d := local.AddDate(0, 0, day)
		c := time.Date(d.Year(), d.Month(), d.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
		if h, mi, _ := c.Clock(); h != hm.Hour() || mi != hm.Minute() {
			// A change skipped the wall time (time.Date picked one of
			// the offsets around it): the instant of the change.
			start, end := c.ZoneBounds()
			if h*60+mi < hm.Hour()*60+hm.Minute() {
				c = end
			} else {
				c = start
			}
		}
		if c.After(t) {
			return c.UTC()
		}
	}
}
