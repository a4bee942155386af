package paygate

import (
	"strconv"
	"strings"
)

// MaxAmount is the largest amount in minor units we accept: twelve digits,
// what ISO 8583 DE4 can carry.
const MaxAmount int64 = 999_999_999_999

// Money is an amount in minor units of a currency. Never a float.
type Money struct {
	Amount   int64
	Currency Currency
}

// ParseMoney validates an amount in minor units and a currency code as they
// arrive from a merchant. amountParam names the field in errors.
func ParseMoney(amount int64, currency string) (Money, error) {
	if currency == "" {
		return Money{}, ParamErrorf(EMISSING, "currency", "Currency is required.")
	}
	c, ok := LookupCurrency(currency)
	if !ok {
		if len(currency) > 8 {
			currency = currency[:8] + "…"
		}
		return Money{}, ParamErrorf(ECURRENCY, "currency", "Currency %q is not a supported ISO 4217 code.", currency)
	}
	if err := ValidateAmount(amount, "amount"); err != nil {
		return Money{}, err
	}
	return Money{Amount: amount, Currency: c}, nil
}

// ValidateAmount checks that an amount in minor units is positive and fits DE4.
func ValidateAmount(amount int64, param string) error {
	switch {
	case amount <= 0:
		return ParamErrorf(EAMOUNT, param, "Amount must be a positive integer in minor units.")
	case amount > MaxAmount:
		return ParamErrorf(EAMOUNT, param, "Amount must be at most %d minor units.", MaxAmount)
	}
	return nil
}

// String formats the amount with its exponent, e.g. "12.50 USD".
func (m Money) String() string {
	return FormatAmount(m.Amount, m.Currency) + " " + m.Currency.Code
}

// FormatAmount renders minor units as a decimal string using the exponent.
func FormatAmount(amount int64, c Currency) string {
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = -u // as uint64, so that math.MinInt64 does not overflow
	}
	s := strconv.FormatUint(u, 10)
	if c.Exponent > 0 {
		if len(s) <= c.Exponent {
			s = strings.Repeat("0", c.Exponent-len(s)+1) + s
		}
		s = s[:len(s)-c.Exponent] + "." + s[len(s)-c.Exponent:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// FormatAmountGrouped is FormatAmount with the thousands of the whole part
// grouped by commas, as people read amounts: "1,234.50", "-1,200".
func FormatAmountGrouped(amount int64, c Currency) string {
	s := FormatAmount(amount, c)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}
