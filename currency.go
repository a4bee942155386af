package paygate

import "strings"

// Currency is an ISO 4217 currency: alphabetic code, numeric code and the
// number of digits after the decimal separator (the exponent).
type Currency struct {
	Code     string // "USD"
	Numeric  string // "840", as carried in ISO 8583 DE49
	Exponent int    // 2 for USD, 0 for JPY, 3 for BHD
}

// currencies is our own ISO 4217 table. Add entries; never change one.
var currencies = map[string]Currency{}

func init() {
	for _, c := range []Currency{
		{"AED", "784", 2}, {"ARS", "032", 2}, {"AUD", "036", 2}, {"BGN", "975", 2},
		{"BHD", "048", 3}, {"BRL", "986", 2}, {"CAD", "124", 2}, {"CHF", "756", 2},
		{"CLP", "152", 0}, {"CNY", "156", 2}, {"COP", "170", 2}, {"CZK", "203", 2},
		{"DKK", "208", 2}, {"EGP", "818", 2}, {"EUR", "978", 2}, {"GBP", "826", 2},
		{"HKD", "344", 2}, {"HUF", "348", 2}, {"IDR", "360", 2}, {"ILS", "376", 2},
		{"INR", "356", 2}, {"ISK", "352", 0}, {"JOD", "400", 3}, {"JPY", "392", 0},
		{"KRW", "410", 0}, {"KWD", "414", 3}, {"MXN", "484", 2}, {"MYR", "458", 2},
		{"NGN", "566", 2}, {"NOK", "578", 2}, {"NZD", "554", 2}, {"OMR", "512", 3},
		{"PEN", "604", 2}, {"PHP", "608", 2}, {"PKR", "586", 2}, {"PLN", "985", 2},
		{"QAR", "634", 2}, {"RON", "946", 2}, {"SAR", "682", 2}, {"SEK", "752", 2},
		{"SGD", "702", 2}, {"THB", "764", 2}, {"TND", "788", 3}, {"TRY", "949", 2},
		{"TWD", "901", 2}, {"UAH", "980", 2}, {"USD", "840", 2}, {"VND", "704", 0},
		{"ZAR", "710", 2},
	} {
		currencies[c.Code] = c
	}
}

// LookupCurrency finds a currency by its alphabetic code, case-insensitively.
func LookupCurrency(code string) (Currency, bool) {
	if len(code) != 3 {
		return Currency{}, false
	}
	c, ok := currencies[strings.ToUpper(code)] // ASCII only: three bytes
	return c, ok
}

// LookupCurrencyNumeric finds a currency by its ISO 4217 numeric code.
func LookupCurrencyNumeric(numeric string) (Currency, bool) {
	for _, c := range currencies {
		if c.Numeric == numeric {
			return c, true
		}
	}
	return Currency{}, false
}
