package paygate_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paygate/paygate"
)

// MustCurrency returns the currency with the given alphabetic code.
func MustCurrency(tb testing.TB, code string) paygate.Currency {
	tb.Helper()
	c, ok := paygate.LookupCurrency(code)
	if !ok {
		tb.Fatalf("LookupCurrency(%q): not found", code)
	}
	return c
}

// MustPaygateError asserts that err is (or wraps) a *paygate.Error and returns it.
func MustPaygateError(tb testing.TB, err error) *paygate.Error {
	tb.Helper()
	var e *paygate.Error
	if !errors.As(err, &e) {
		tb.Fatalf("got error %v (%T), want a *paygate.Error", err, err)
	}
	return e
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name      string
		amount    int64
		currency  string
		wantCode  string // "" = accepted
		wantParam string
		wantCur   string
	}{
		{"one cent", 1, "USD", "", "", "USD"},
		{"typical", 1250, "EUR", "", "", "EUR"},
		{"max amount", paygate.MaxAmount, "USD", "", "", "USD"},
		{"lowercase code", 500, "usd", "", "", "USD"},
		{"mixed case code", 500, "jPy", "", "", "JPY"},
		{"zero", 0, "USD", paygate.EAMOUNT, "amount", ""},
		{"negative", -1, "USD", paygate.EAMOUNT, "amount", ""},
		{"min int64", math.MinInt64, "USD", paygate.EAMOUNT, "amount", ""},
		{"max amount plus one", paygate.MaxAmount + 1, "USD", paygate.EAMOUNT, "amount", ""},
		{"max int64", math.MaxInt64, "USD", paygate.EAMOUNT, "amount", ""},
		{"unknown currency", 100, "XXX", paygate.ECURRENCY, "currency", ""},
		{"two letters", 100, "US", paygate.ECURRENCY, "currency", ""},
		{"padded code", 100, " USD", paygate.ECURRENCY, "currency", ""},
		{"numeric code", 100, "840", paygate.ECURRENCY, "currency", ""},
		{"missing currency", 100, "", paygate.EMISSING, "currency", ""},
		{"missing currency and zero amount", 0, "", paygate.EMISSING, "currency", ""},
		{"unknown currency and zero amount", 0, "XXX", paygate.ECURRENCY, "currency", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := paygate.ParseMoney(tt.amount, tt.currency)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ParseMoney(%d, %q): got error %v, want nil", tt.amount, tt.currency, err)
				}
				if m.Amount != tt.amount {
					t.Errorf("Amount: got %d, want %d", m.Amount, tt.amount)
				}
				if want := MustCurrency(t, tt.wantCur); m.Currency != want {
					t.Errorf("Currency: got %+v, want %+v", m.Currency, want)
				}
				return
			}
			e := MustPaygateError(t, err)
			if e.Code != tt.wantCode {
				t.Errorf("Code: got %q, want %q", e.Code, tt.wantCode)
			}
			if e.Param != tt.wantParam {
				t.Errorf("Param: got %q, want %q", e.Param, tt.wantParam)
			}
			if e.Message == "" {
				t.Errorf("Message: got empty, want a sentence")
			}
			if m != (paygate.Money{}) {
				t.Errorf("Money on error: got %+v, want zero", m)
			}
		})
	}
}

func TestParseMoneyEchoIsSanitized(t *testing.T) {
	tests := []struct {
		currency  string
		wantIn    string
		wantNotIn string
	}{
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGH…", "ABCDEFGHI"},
		{"U\nSD\x00\x7f", `"U\nSD\x00\x7f"`, "\n"}, // escaped, not silently cleaned
	}
	for _, tt := range tests {
		_, err := paygate.ParseMoney(100, tt.currency)
		e := MustPaygateError(t, err)
		if !strings.Contains(e.Message, tt.wantIn) {
			t.Errorf("ParseMoney(%q) message: got %q, want it to contain %q", tt.currency, e.Message, tt.wantIn)
		}
		if strings.Contains(e.Message, tt.wantNotIn) {
			t.Errorf("ParseMoney(%q) message: got %q, want it not to contain %q", tt.currency, e.Message, tt.wantNotIn)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	jpy := MustCurrency(t, "JPY") // exponent 0
	usd := MustCurrency(t, "USD") // exponent 2
	bhd := MustCurrency(t, "BHD") // exponent 3
	tests := []struct {
		amount int64
		c      paygate.Currency
		want   string
	}{
		{0, jpy, "0"},
		{5, jpy, "5"},
		{1234, jpy, "1234"},
		{-7, jpy, "-7"},
		{0, usd, "0.00"},
		{5, usd, "0.05"},
		{50, usd, "0.50"},
		{99, usd, "0.99"},
		{100, usd, "1.00"},
		{1250, usd, "12.50"},
		{-5, usd, "-0.05"},
		{-1250, usd, "-12.50"},
		{paygate.MaxAmount, usd, "9999999999.99"},
		{math.MaxInt64, usd, "92233720368547758.07"},
		{math.MinInt64, usd, "-92233720368547758.08"},
		{0, bhd, "0.000"},
		{5, bhd, "0.005"},
		{12, bhd, "0.012"},
		{123, bhd, "0.123"},
		{1000, bhd, "1.000"},
		{1234, bhd, "1.234"},
		{-5, bhd, "-0.005"},
		{math.MinInt64, jpy, "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := paygate.FormatAmount(tt.amount, tt.c); got != tt.want {
			t.Errorf("FormatAmount(%d, %s): got %q, want %q", tt.amount, tt.c.Code, got, tt.want)
		}
	}
}

func TestMoneyString(t *testing.T) {
	m := paygate.Money{Amount: 1250, Currency: MustCurrency(t, "USD")}
	if got, want := m.String(), "12.50 USD"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// allCurrencies is every code in the ISO 4217 table, with its numeric code
// and exponent. The table is append-only: a change here is a wire change.
var allCurrencies = []paygate.Currency{
	{Code: "AED", Numeric: "784", Exponent: 2}, {Code: "ARS", Numeric: "032", Exponent: 2},
	{Code: "AUD", Numeric: "036", Exponent: 2}, {Code: "BGN", Numeric: "975", Exponent: 2},
	{Code: "BHD", Numeric: "048", Exponent: 3}, {Code: "BRL", Numeric: "986", Exponent: 2},
	{Code: "CAD", Numeric: "124", Exponent: 2}, {Code: "CHF", Numeric: "756", Exponent: 2},
	{Code: "CLP", Numeric: "152", Exponent: 0}, {Code: "CNY", Numeric: "156", Exponent: 2},
	{Code: "COP", Numeric: "170", Exponent: 2}, {Code: "CZK", Numeric: "203", Exponent: 2},
	{Code: "DKK", Numeric: "208", Exponent: 2}, {Code: "EGP", Numeric: "818", Exponent: 2},
	{Code: "EUR", Numeric: "978", Exponent: 2}, {Code: "GBP", Numeric: "826", Exponent: 2},
	{Code: "HKD", Numeric: "344", Exponent: 2}, {Code: "HUF", Numeric: "348", Exponent: 2},
	{Code: "IDR", Numeric: "360", Exponent: 2}, {Code: "ILS", Numeric: "376", Exponent: 2},
	{Code: "INR", Numeric: "356", Exponent: 2}, {Code: "ISK", Numeric: "352", Exponent: 0},
	{Code: "JOD", Numeric: "400", Exponent: 3}, {Code: "JPY", Numeric: "392", Exponent: 0},
	{Code: "KRW", Numeric: "410", Exponent: 0}, {Code: "KWD", Numeric: "414", Exponent: 3},
	{Code: "MXN", Numeric: "484", Exponent: 2}, {Code: "MYR", Numeric: "458", Exponent: 2},
	{Code: "NGN", Numeric: "566", Exponent: 2}, {Code: "NOK", Numeric: "578", Exponent: 2},
	{Code: "NZD", Numeric: "554", Exponent: 2}, {Code: "OMR", Numeric: "512", Exponent: 3},
	{Code: "PEN", Numeric: "604", Exponent: 2}, {Code: "PHP", Numeric: "608", Exponent: 2},
	{Code: "PKR", Numeric: "586", Exponent: 2}, {Code: "PLN", Numeric: "985", Exponent: 2},
	{Code: "QAR", Numeric: "634", Exponent: 2}, {Code: "RON", Numeric: "946", Exponent: 2},
	{Code: "SAR", Numeric: "682", Exponent: 2}, {Code: "SEK", Numeric: "752", Exponent: 2},
	{Code: "SGD", Numeric: "702", Exponent: 2}, {Code: "THB", Numeric: "764", Exponent: 2},
	{Code: "TND", Numeric: "788", Exponent: 3}, {Code: "TRY", Numeric: "949", Exponent: 2},
	{Code: "TWD", Numeric: "901", Exponent: 2}, {Code: "UAH", Numeric: "980", Exponent: 2},
	{Code: "USD", Numeric: "840", Exponent: 2}, {Code: "VND", Numeric: "704", Exponent: 0},
	{Code: "ZAR", Numeric: "710", Exponent: 2},
}

func TestLookupCurrency(t *testing.T) {
	for _, want := range allCurrencies {
		for _, code := range []string{want.Code, strings.ToLower(want.Code)} {
			got, ok := paygate.LookupCurrency(code)
			if !ok || got != want {
				t.Errorf("LookupCurrency(%q): got %+v, %v, want %+v, true", code, got, ok, want)
			}
		}
	}
	for _, code := range []string{"", "XXX", "US", "USDD", "840"} {
		if got, ok := paygate.LookupCurrency(code); ok {
			t.Errorf("LookupCurrency(%q): got %+v, true, want not found", code, got)
		}
	}
}

func TestLookupCurrencyNumeric(t *testing.T) {
	// Every numeric code maps back to its own currency: no two share one.
	for _, want := range allCurrencies {
		got, ok := paygate.LookupCurrencyNumeric(want.Numeric)
		if !ok || got != want {
			t.Errorf("LookupCurrencyNumeric(%q): got %+v, %v, want %+v, true", want.Numeric, got, ok, want)
		}
	}
	for _, numeric := range []string{"", "999", "84", "0840", "USD", " 840"} {
		if got, ok := paygate.LookupCurrencyNumeric(numeric); ok || got != (paygate.Currency{}) {
			t.Errorf("LookupCurrencyNumeric(%q): got %+v, %v, want zero, false", numeric, got, ok)
		}
	}
}

func FuzzParseMoney(f *testing.F) {
	f.Add(int64(0), "USD")
	f.Add(int64(1), "usd")
	f.Add(int64(-1), "EUR")
	f.Add(paygate.MaxAmount, "JPY")
	f.Add(paygate.MaxAmount+1, "BHD")
	f.Add(int64(math.MinInt64), "")
	f.Add(int64(math.MaxInt64), "XXX")
	f.Add(int64(100), "U\x00SD\n\xff")
	f.Fuzz(func(t *testing.T, amount int64, currency string) {
		m, err := paygate.ParseMoney(amount, currency)
		if err != nil {
			e := MustPaygateError(t, err)
			switch e.Code {
			case paygate.EMISSING, paygate.ECURRENCY, paygate.EAMOUNT:
			default:
				t.Fatalf("Code: got %q, want one of %q, %q, %q", e.Code, paygate.EMISSING, paygate.ECURRENCY, paygate.EAMOUNT)
			}
			if strings.ContainsAny(e.Message, "\x00\n\r\x7f") {
				t.Fatalf("Message: got %q, want no control characters", e.Message)
			}
			return
		}
		if m.Amount <= 0 || m.Amount > paygate.MaxAmount {
			t.Fatalf("accepted amount: got %d, want 0 < amount <= %d", m.Amount, paygate.MaxAmount)
		}
		if m.Amount != amount {
			t.Fatalf("Amount: got %d, want %d", m.Amount, amount)
		}
		c, ok := paygate.LookupCurrency(currency)
		if !ok || m.Currency != c || m.Currency.Code == "" {
			t.Fatalf("Currency: got %+v, want the known currency %+v (found %v)", m.Currency, c, ok)
		}
		if back, ok := paygate.LookupCurrencyNumeric(m.Currency.Numeric); !ok || back != m.Currency {
			t.Fatalf("LookupCurrencyNumeric(%q): got %+v, %v, want %+v, true", m.Currency.Numeric, back, ok, m.Currency)
		}
	})
}

func TestFormatAmountGrouped(t *testing.T) {
	jpy, usd := MustCurrency(t, "JPY"), MustCurrency(t, "USD")
	tests := []struct {
		amount int64
		c      paygate.Currency
		want   string
	}{
		{0, usd, "0.00"},
		{99999, usd, "999.99"},
		{100000, usd, "1,000.00"},
		{-123456789, usd, "-1,234,567.89"},
		{1200, jpy, "1,200"},
		{-100, jpy, "-100"},
		{-1000, jpy, "-1,000"},
		{math.MinInt64, jpy, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := paygate.FormatAmountGrouped(tt.amount, tt.c); got != tt.want {
			t.Errorf("FormatAmountGrouped(%d, %s) = %q, want %q", tt.amount, tt.c.Code, got, tt.want)
		}
	}
}
