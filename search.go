package paygate

import (
	"sort"
	"strings"
)

// SearchTerms is what a free-text query (PaymentFilter.Query) can mean. A
// payment matches if any one term equals the payment's: the stores look each
// up by an index, so a search stays fast however many payments there are.
type SearchTerms struct {
	Text    string // the query, trimmed: matched against id, order id, confirmation number
	Last4   string // four digits: the card's last 4
	Email   string // lower case, when the query looks like an e-mail: the receipt e-mail
	Amounts []AmountTerm
}

// AmountTerm is an amount in minor units of any of Currencies.
type AmountTerm struct {
	Amount     int64
	Currencies []string // codes, sorted
}

// SearchTerms reads f.Query. It reports false when there is no query.
func (f PaymentFilter) SearchTerms() (SearchTerms, bool) {
	q := strings.TrimSpace(f.Query)
	if q == "" {
		return SearchTerms{}, false
	}
	t := SearchTerms{Text: q}
	if strings.HasPrefix(strings.ToUpper(q), "PG-") {
		t.Text = strings.ToUpper(q) // confirmation numbers are upper case
	}
	if len(q) == 4 && isDigits(q) {
		t.Last4 = q
	}
	if strings.Contains(q, "@") {
		t.Email = strings.ToLower(q)
	}
	// An amount in major units means a different number of minor units
	// for each exponent.
	byExp := map[int][]string{}
	for code, c := range currencies {
		byExp[c.Exponent] = append(byExp[c.Exponent], code)
	}
	exps := make([]int, 0, len(byExp))
	for e := range byExp {
		exps = append(exps, e)
	}
	sort.Ints(exps)
	for _, e := range exps {
		if f.Currency != "" {
			if c, ok := LookupCurrency(f.Currency); !ok || c.Exponent != e {
				continue
			}
		}
		if a, ok := ParseMajorAmount(q, e); ok {
			codes := byExp[e]
			sort.Strings(codes)
			t.Amounts = append(t.Amounts, AmountTerm{Amount: a, Currencies: codes})
		}
	}
	return t, true
}

// ParseMajorAmount reads a positive amount in major units ("1,234.5",
// "12.50", "12") as minor units of a currency with the given exponent. It
// reports false for anything else, or for more decimals than the exponent.
func ParseMajorAmount(s string, exponent int) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !isDigits(whole) || (frac != "" && !isDigits(frac)) || len(frac) > exponent || len(whole) > 15 {
		return 0, false
	}
	var v int64
	for _, r := range whole + frac + strings.Repeat("0", exponent-len(frac)) {
		v = v*10 + int64(r-'0')
	}
	if v <= 0 || v > MaxAmount {
		return 0, false
	}
	return v, true
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
