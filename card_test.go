package paygate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/paygate/paygate"
)

// MustLuhnPAN returns a Luhn-valid number of the given length that starts
// with prefix, padded with zeros before the check digit.
func MustLuhnPAN(tb testing.TB, prefix string, length int) string {
	tb.Helper()
	if len(prefix) >= length {
		tb.Fatalf("MustLuhnPAN(%q, %d): prefix too long", prefix, length)
	}
	partial := prefix + strings.Repeat("0", length-1-len(prefix))
	pan := partial + string(paygate.LuhnCheckDigit(partial))
	if !paygate.Luhn(pan) {
		tb.Fatalf("MustLuhnPAN(%q, %d): %s fails Luhn", prefix, length, paygate.MaskPAN(pan))
	}
	return pan
}

// cardNow is the fixed "now" of the expiry tests: 15 March 2026.
var cardNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

func TestLuhn(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", false},
		{"0", true},
		{"00", true},
		{"18", true},
		{"79927398713", true},
		{"79927398710", false},
		{"4242424242424242", true},
		{"4242424242424241", false},
		{"4111111111111111", true},
		{"378282246310005", true},
		{"5555555555554444", true},
		{"5555555555554445", false},
		{"6011111111111117", true},
		{"4242 4242 4242 4242", false}, // not normalized
		{"42a2", false},
		{"/", false},
		{":", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := paygate.Luhn(tt.s); got != tt.want {
			t.Errorf("Luhn(%q): got %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestLuhnCheckDigit(t *testing.T) {
	tests := []struct {
		partial string
		want    byte
	}{
		{"424242424242424", '2'},
		{"7992739871", '3'},
		{"37828224631000", '5'},
		{"", '0'},
	}
	for _, tt := range tests {
		if got := paygate.LuhnCheckDigit(tt.partial); got != tt.want {
			t.Errorf("LuhnCheckDigit(%q): got %q, want %q", tt.partial, got, tt.want)
		}
	}
}

func TestCardBrand(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"4", paygate.BrandVisa},
		{"49", paygate.BrandVisa},
		{"50", ""},
		{"51", paygate.BrandMastercard},
		{"55", paygate.BrandMastercard},
		{"56", ""},
		{"2220", ""},
		{"2221", paygate.BrandMastercard},
		{"2500", paygate.BrandMastercard},
		{"2720", paygate.BrandMastercard},
		{"2721", ""},
		{"34", paygate.BrandAmex},
		{"37", paygate.BrandAmex},
		{"33", ""},
		{"6011", paygate.BrandDiscover},
		{"6010", ""},
		{"6012", ""},
		{"643", ""},
		{"644", paygate.BrandDiscover},
		{"649", paygate.BrandDiscover},
		{"65", paygate.BrandDiscover},
		{"3527", ""},
		{"3528", paygate.BrandJCB},
		{"3589", paygate.BrandJCB},
		{"3590", ""},
		{"62", paygate.BrandUnionPay},
		{"299", ""},
		{"300", paygate.BrandDiners},
		{"305", paygate.BrandDiners},
		{"306", ""},
		{"36", paygate.BrandDiners},
		{"38", paygate.BrandDiners},
		{"1", ""},
		{"9", ""},
	}
	for _, tt := range tests {
		pan := MustLuhnPAN(t, tt.prefix, 16)
		if got := paygate.CardBrand(pan); got != tt.want {
			t.Errorf("CardBrand(%s…): got %q, want %q", tt.prefix, got, tt.want)
		}
	}
	for _, s := range []string{"", "x", "-4", "+5", "222", "abcd"} {
		if got := paygate.CardBrand(s); got != "" {
			t.Errorf("CardBrand(%q): got %q, want \"\"", s, got)
		}
	}
}

func TestValidatePAN(t *testing.T) {
	const param = "card[number]"
	tests := []struct {
		name     string
		pan      string
		wantCode string // "" = valid
	}{
		{"visa 16", "4242424242424242", ""},
		{"visa 13", MustLuhnPAN(t, "4", 13), ""},
		{"visa 19", MustLuhnPAN(t, "4", 19), ""},
		{"mastercard 5", "5555555555554444", ""},
		{"mastercard 2221", MustLuhnPAN(t, "2221", 16), ""},
		{"mastercard 2720", MustLuhnPAN(t, "2720", 16), ""},
		{"amex", "378282246310005", ""},
		{"discover 6011", "6011111111111117", ""},
		{"discover 65 19", MustLuhnPAN(t, "65", 19), ""},
		{"jcb", MustLuhnPAN(t, "3530", 16), ""},
		{"jcb 17", MustLuhnPAN(t, "3589", 17), ""},
		{"unionpay", MustLuhnPAN(t, "62", 16), ""},
		{"diners 14", MustLuhnPAN(t, "300", 14), ""},
		{"diners 36", MustLuhnPAN(t, "36", 14), ""},

		{"empty", "", paygate.EMISSING},
		{"spaces", "4242 4242 4242 4242", paygate.ENUMBER},
		{"dashes", "4242-4242-4242-4242", paygate.ENUMBER},
		{"letter", "424242424242424a", paygate.ENUMBER},
		{"unicode digit", "４242424242424242", paygate.ENUMBER},
		{"short", MustLuhnPAN(t, "4", 11), paygate.ENUMBER},
		{"long", MustLuhnPAN(t, "4", 20), paygate.ENUMBER},
		{"unknown brand", MustLuhnPAN(t, "9", 16), paygate.EUNSUPPORTEDBRAND},
		{"mastercard 2220", MustLuhnPAN(t, "2220", 16), paygate.EUNSUPPORTEDBRAND},
		{"mastercard 2721", MustLuhnPAN(t, "2721", 16), paygate.EUNSUPPORTEDBRAND},
		{"bad luhn", "4242424242424241", paygate.ENUMBER},
		{"bad luhn amex", "378282246310006", paygate.ENUMBER},
		{"visa 14", MustLuhnPAN(t, "4", 14), paygate.ENUMBER},
		{"visa 15", MustLuhnPAN(t, "4", 15), paygate.ENUMBER},
		{"mastercard 15", MustLuhnPAN(t, "51", 15), paygate.ENUMBER},
		{"mastercard 19", MustLuhnPAN(t, "51", 19), paygate.ENUMBER},
		{"amex 16", MustLuhnPAN(t, "37", 16), paygate.ENUMBER},
		{"discover 15", MustLuhnPAN(t, "6011", 15), paygate.ENUMBER},
		{"jcb 15", MustLuhnPAN(t, "3528", 15), paygate.ENUMBER},
		{"diners 15", MustLuhnPAN(t, "36", 15), paygate.ENUMBER},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := paygate.ValidatePAN(tt.pan, param)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ValidatePAN(%s): got %v, want nil", paygate.MaskPAN(tt.pan), err)
				}
				return
			}
			e := MustPaygateError(t, err)
			if e.Code != tt.wantCode {
				t.Errorf("Code: got %q, want %q (%v)", e.Code, tt.wantCode, e)
			}
			if e.Param != param {
				t.Errorf("Param: got %q, want %q", e.Param, param)
			}
			if tt.pan != "" && strings.Contains(err.Error(), tt.pan) {
				t.Errorf("error %q contains the card number", err)
			}
		})
	}
}

func TestValidatePANWrongLengthNamesBrand(t *testing.T) {
	err := paygate.ValidatePAN(MustLuhnPAN(t, "37", 16), "number")
	e := MustPaygateError(t, err)
	if !strings.Contains(e.Message, paygate.BrandAmex) {
		t.Errorf("Message: got %q, want it to name %q", e.Message, paygate.BrandAmex)
	}
}

func TestValidateExpiry(t *testing.T) {
	tests := []struct {
		name      string
		month     int
		year      int
		now       time.Time
		wantCode  string // "" = valid
		wantParam string
	}{
		{"this month", 3, 2026, cardNow, "", ""},
		{"this month, last instant", 3, 2026, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "", ""},
		{"next month", 4, 2026, cardNow, "", ""},
		{"next year", 1, 2027, cardNow, "", ""},
		{"two-digit year", 3, 26, cardNow, "", ""},
		{"two-digit year future", 12, 30, cardNow, "", ""},
		{"fifty years ahead", 12, 2076, cardNow, "", ""},
		{"last month", 2, 2026, cardNow, paygate.EEXPIRED, "card[exp_year]"},
		{"past year", 12, 2025, cardNow, paygate.EEXPIRED, "card[exp_year]"},
		{"two-digit past year", 12, 25, cardNow, paygate.EEXPIRED, "card[exp_year]"},
		{"month zero", 0, 2027, cardNow, paygate.EEXPIRY, "card[exp_month]"},
		{"month thirteen", 13, 2027, cardNow, paygate.EEXPIRY, "card[exp_month]"},
		{"negative month", -1, 2027, cardNow, paygate.EEXPIRY, "card[exp_month]"},
		{"year 1999", 12, 1999, cardNow, paygate.EEXPIRY, "card[exp_year]"},
		{"year 2101", 1, 2101, cardNow, paygate.EEXPIRY, "card[exp_year]"},
		{"more than fifty years ahead", 1, 2077, cardNow, paygate.EEXPIRY, "card[exp_year]"},
		{"month over, in UTC", 3, 2026, time.Date(2026, 3, 31, 20, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)), paygate.EEXPIRED, "card[exp_year]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := paygate.ValidateExpiry(tt.month, tt.year, tt.now)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ValidateExpiry(%d, %d): got %v, want nil", tt.month, tt.year, err)
				}
				return
			}
			e := MustPaygateError(t, err)
			if e.Code != tt.wantCode || e.Param != tt.wantParam {
				t.Errorf("got code %q param %q, want code %q param %q", e.Code, e.Param, tt.wantCode, tt.wantParam)
			}
		})
	}
}

func TestCardValidate(t *testing.T) {
	const visa, amex = "4242424242424242", "378282246310005"
	tests := []struct {
		name       string
		card       paygate.Card
		requireCVC bool
		wantCode   string // "" = valid
		wantParam  string
	}{
		{"visa", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, "", ""},
		{"visa typed with spaces", paygate.Card{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, "", ""},
		{"visa typed with dashes", paygate.Card{Number: "4242-4242-4242-4242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, "", ""},
		{"amex 4-digit cvc", paygate.Card{Number: amex, ExpMonth: 12, ExpYear: 2030, CVC: "1234"}, true, "", ""},
		{"no cvc, not required", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030}, false, "", ""},
		{"two-digit year", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 30, CVC: "123"}, true, "", ""},
		{"cvc 0s", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "000"}, true, "", ""},

		{"amex 3-digit cvc", paygate.Card{Number: amex, ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, paygate.ECVC, "card[cvc]"},
		{"visa 4-digit cvc", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "1234"}, true, paygate.ECVC, "card[cvc]"},
		{"visa 2-digit cvc", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "12"}, true, paygate.ECVC, "card[cvc]"},
		{"cvc letters", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "12a"}, true, paygate.ECVC, "card[cvc]"},
		{"cvc spaces", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: " 12"}, true, paygate.ECVC, "card[cvc]"},
		{"amex cvc letters", paygate.Card{Number: amex, ExpMonth: 12, ExpYear: 2030, CVC: "12x4"}, true, paygate.ECVC, "card[cvc]"},
		{"bad cvc, not required", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "1"}, false, paygate.ECVC, "card[cvc]"},
		{"missing cvc", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030}, true, paygate.EMISSING, "card[cvc]"},
		{"missing number", paygate.Card{ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, paygate.EMISSING, "card[number]"},
		{"bad number", paygate.Card{Number: "4242424242424241", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, true, paygate.ENUMBER, "card[number]"},
		{"expired", paygate.Card{Number: visa, ExpMonth: 2, ExpYear: 2026, CVC: "123"}, true, paygate.EEXPIRED, "card[exp_year]"},
		{"bad month", paygate.Card{Number: visa, ExpMonth: 13, ExpYear: 2030, CVC: "123"}, true, paygate.EEXPIRY, "card[exp_month]"},
		{"name", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Ada Lovelace 3rd"}, true, "", ""},
		{"card number as name", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "5555 5555 5555 4444"}, true, paygate.EINVALID, "card[name]"},
		{"card number in name", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Ada ４２４２/４２４２/４２４２/４２４２"}, true, paygate.EINVALID, "card[name]"},
		{"name too long", paygate.Card{Number: visa, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: strings.Repeat("a", 101)}, true, paygate.EINVALID, "card[name]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.card
			err := c.Validate(cardNow, tt.requireCVC)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				if strings.ContainsAny(c.Number, " -") {
					t.Errorf("Number after Validate: got %s, want it normalized", paygate.MaskPAN(c.Number))
				}
				if c.ExpYear < 2000 {
					t.Errorf("ExpYear after Validate: got %d, want four digits", c.ExpYear)
				}
				return
			}
			e := MustPaygateError(t, err)
			if e.Code != tt.wantCode || e.Param != tt.wantParam {
				t.Errorf("got code %q param %q, want code %q param %q", e.Code, e.Param, tt.wantCode, tt.wantParam)
			}
			for _, secret := range []string{tt.card.Number, paygate.NormalizePAN(tt.card.Number)} {
				if len(secret) >= 12 && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the card number", err)
				}
			}
		})
	}
}

func TestCVCLength(t *testing.T) {
	for brand, want := range map[string]int{
		paygate.BrandAmex: 4, paygate.BrandVisa: 3, paygate.BrandMastercard: 3, paygate.BrandDiscover: 3,
		paygate.BrandJCB: 3, paygate.BrandUnionPay: 3, paygate.BrandDiners: 3,
	} {
		if got := paygate.CVCLength(brand); got != want {
			t.Errorf("CVCLength(%q): got %d, want %d", brand, got, want)
		}
	}
}

func TestMaskPAN(t *testing.T) {
	tests := []struct{ pan, want string }{
		{"", ""},
		{"123", "***"},
		{"12345678", "********"},
		{"123456789", "*****6789"},
		{"1234567890", "******7890"},
		{"4242424242424242", "424242******4242"},
		{"378282246310005", "378282*****0005"},
		{"4222222222222", "422222***2222"},
		{MustLuhnPAN(t, "4", 19), "400000*********0006"},
	}
	for _, tt := range tests {
		got := paygate.MaskPAN(tt.pan)
		if got != tt.want {
			t.Errorf("MaskPAN(%d digits): got %q, want %q", len(tt.pan), got, tt.want)
		}
		if len(got) != len(tt.pan) {
			t.Errorf("MaskPAN(%d digits): got length %d, want %d", len(tt.pan), len(got), len(tt.pan))
		}
	}
}

func TestRedactPANs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no digits here", "no digits here"},
		{"card 4242424242424242 declined", "card 424242******4242 declined"},
		{"card 4242 4242 4242 4242.", "card 424242******4242."},
		{"card 4242-4242-4242-4242!", "card 424242******4242!"},
		{"amex 3782 822463 10005", "amex 378282*****0005"},
		{"x4242424242424242x", "x424242******4242x"},
		{"12 digits 123456789012", "12 digits ********9012"},
		{"double space 4242  4242 4242  4242", "double space 424242******4242"},
		{"dots 4242.4242.4242.4242", "dots 424242******4242"},
		{"11 digits 12345678901", "11 digits 12345678901"},
		{"19 digits 1234567890123456789", "19 digits 123456*********6789"},
		{"phone +1 555-123-4567", "phone +1 555-123-4567"},
		{"order 1234, amount 5000", "order 1234, amount 5000"},
		{"date 2026-03-15", "date 2026-03-15"},
		{"two 4242424242424242 and 5555555555554444", "two 424242******4242 and 555555******4444"},
		{"trailing dash 4242424242424242-", "trailing dash 424242******4242-"},
		{"double space 4242  4242", "double space 4242  4242"},
		{"4242424242424242", "424242******4242"},
		{"café 4242424242424242 €", "café 424242******4242 €"},
		// Any separators between digit groups, any Unicode decimal digits.
		{"slashes 4242/4242/4242/4242.", "slashes 424242******4242."},
		{"underscores 4242_4242_4242_4242", "underscores 424242******4242"},
		{"commas 4242, 4242, 4242, 4242", "commas 424242******4242"},
		{"nbsp 4242\u00a04242\u00a04242\u00a04242", "nbsp 424242******4242"},
		{"zero-width 4242\u200b4242\u200b4242\u200b4242", "zero-width 424242******4242"},
		{"spaced 4242 / 4242 / 4242 / 4242 ok", "spaced 424242******4242 ok"},
		{"fullwidth ４２４２４２４２４２４２４２４２", "fullwidth 424242******4242"},
		{"arabic-indic ٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "arabic-indic 424242******4242"},
		{"mixed 4242 ４２４２-٤٢٤٢.4242", "mixed 424242******4242"},
		{"Luhn-invalid 4242_4242_4242_4241", "Luhn-invalid 424242******4241"},
		{"letters 4242x4242x4242x4242", "letters 4242x4242x4242x4242"},
		{"time 10:30, 11 digits 1234/5678/901", "time 10:30, 11 digits 1234/5678/901"},
	}
	for _, tt := range tests {
		if got := paygate.RedactPANs(tt.in); got != tt.want {
			t.Errorf("RedactPANs(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactCardNumbers: the safety net for the server's own messages masks
// card numbers in every form RedactPANs catches, and leaves other numbers,
// however long, alone.
func TestRedactCardNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Amount must be at most 999999999999 minor units.", "Amount must be at most 999999999999 minor units."},
		{"Request body is larger than 65536 bytes.", "Request body is larger than 65536 bytes."},
		{"Refund amount 9999999999.99 USD is more than the 10.00 USD left.", "Refund amount 9999999999.99 USD is more than the 10.00 USD left."},
		{"not Luhn 4242424242424241", "not Luhn 4242424242424241"},
		{"no brand 1000000000000000", "no brand 1000000000000000"},
		{"card 4242424242424242.", "card 424242******4242."},
		{"card 4242/4242/4242/4242.", "card 424242******4242."},
		{"card ４２４２４２４２４２４２４２４２", "card 424242******4242"},
		{"inside 94242424242424242 digits", "inside 942424*******4242 digits"},
	}
	for _, tt := range tests {
		if got := paygate.RedactCardNumbers(tt.in); got != tt.want {
			t.Errorf("RedactCardNumbers(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCheckFreeText: a card number is refused in whatever form it is
// written; ordinary text with numbers in it is not.
func TestCheckFreeText(t *testing.T) {
	refused := []string{
		"4242424242424242",
		"order 4242424242424242",
		"4242 4242 4242 4242",
		"4242-4242-4242-4242",
		"4242.4242.4242.4242",
		"4242/4242/4242/4242",
		"4242_4242_4242_4242",
		"4242, 4242, 4242, 4242",
		"4242\u00a04242\u00a04242\u00a04242",
		"4242\u2007\u20094242\u202f4242\u30004242",
		"4242\u200b4242\u200b4242\u200b4242",
		"4242\t4242\n4242\r\n4242",
		"4242 / 4242 / 4242 / 4242",
		"4242 / 4242/4242 /4242",
		"4242\u00a04242 4242\u202f4242",
		"4242***4242***4242***4242",
		"4242 4242 42424242",
		"3782-822463-10005",
		"4242-4242-4242-4242-424",
		"before 1, then 4242/4242/4242/4242, after",
		"４２４２４２４２４２４２４２４２",
		"４２４２ ４２４２ ４２４２ ４２４２",
		"٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
		"४२४२४२४२४२४२४२४२",
		"𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐",
		"3782 822463 10005",
		"5555/5555/5555/4444",
		"4242\xff4242\xfe4242\xfd4242",
	}
	for _, s := range refused {
		err := paygate.CheckFreeText("order_id", s)
		if e, ok := err.(*paygate.Error); !ok || e.Code != paygate.EINVALID || e.Param != "order_id" {
			t.Errorf("CheckFreeText(%q): got %v, want %s on order_id", s, err, paygate.EINVALID)
		}
	}
	accepted := []string{
		"",
		"Two books, one pen",
		"order 1234, amount 5000",
		"4242x4242x4242x4242",
		"4242 4242 4242 4241",
		"4242 4242 4242",
		"phone +1 555-123-4567",
		"2026-03-15 10:30:15",
		"Invoice 2024/0001, 3 items",
		"ref 4242-4242 and 4242-4242",
		"rooms 12, 13, 14 and 15",
		"１２３４",
		"1234567890123",
		// Numbers joined by punctuation hold 13 to 19 digits that pass Luhn
		// and look like a brand, but not as whole groups with one separator.
		"+1 369-047-5934, +1 093-717-4937",
		"+44 20 2463 4253 / +44 7754 289789",
		"2026-01-15 20:21:53, 2026-04-05",
		"223.52, 930.39, 250.56, 9.25",
		"733-9304, 980-0564, 457-6985",
		"64, 275, 93, 5794, 18, 419, 45, 322, 20",
		"453-018-3655, 680-919-9843",
		"40.159.212.125:22431",
		// A card number with different separators between its groups, or
		// glued to other digits, is not taken for one (echoes and logs still
		// mask it: RedactPANs masks any 12 digits).
		"4242 ４２４２-٤٢٤٢.4242",
		"(4242) [4242] {4242} <4242>",
		"94242/4242/4242/4242",
	}
	for _, s := range accepted {
		if err := paygate.CheckFreeText("order_id", s); err != nil {
			t.Errorf("CheckFreeText(%q): got %v, want nil", s, err)
		}
	}
}

// TestUnicodeDigitRanges checks what the card number filter relies on:
// Unicode's decimal digits (Nd) come in whole runs of ten, 0 to 9, so every
// one of them reads as the right digit.
func TestUnicodeDigitRanges(t *testing.T) {
	var zeros []rune
	for _, r := range unicode.Nd.R16 {
		if r.Stride != 1 || (int(r.Hi)-int(r.Lo)+1)%10 != 0 {
			t.Fatalf("Nd range %U-%U stride %d: not whole runs of ten", r.Lo, r.Hi, r.Stride)
		}
		for z := rune(r.Lo); z < rune(r.Hi); z += 10 {
			zeros = append(zeros, z)
		}
	}
	for _, r := range unicode.Nd.R32 {
		if r.Stride != 1 || (int(r.Hi)-int(r.Lo)+1)%10 != 0 {
			t.Fatalf("Nd range %U-%U stride %d: not whole runs of ten", r.Lo, r.Hi, r.Stride)
		}
		for z := rune(r.Lo); z < rune(r.Hi); z += 10 {
			zeros = append(zeros, z)
		}
	}
	if len(zeros) < 50 {
		t.Fatalf("only %d scripts of digits", len(zeros))
	}
	const pan = "4242424242424242"
	for _, z := range zeros {
		written := strings.Map(func(r rune) rune { return z + r - '0' }, pan)
		if got := paygate.RedactPANs(written); got != paygate.MaskPAN(pan) {
			t.Errorf("RedactPANs of the number in digits from %U: got %q, want %q", z, got, paygate.MaskPAN(pan))
		}
		if paygate.CheckFreeText("description", written) == nil {
			t.Errorf("CheckFreeText accepts the number in digits from %U", z)
		}
	}
}

// TestCardNeverPrintsSecrets checks every way a Card may reach a string:
// none may show the full number or the CVC.
func TestCardNeverPrintsSecrets(t *testing.T) {
	const pan, cvc = "4242424242424242", "731"
	card := paygate.Card{Number: pan, ExpMonth: 12, ExpYear: 2030, CVC: cvc, Name: "Ada Lovelace"}
	masked := paygate.MaskPAN(pan)

	var textBuf, jsonBuf bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	textLog := slog.New(slog.NewTextHandler(&textBuf, &slog.HandlerOptions{ReplaceAttr: noTime}))
	jsonLog := slog.New(slog.NewJSONHandler(&jsonBuf, &slog.HandlerOptions{ReplaceAttr: noTime}))
	logTo := func(l *slog.Logger, buf *bytes.Buffer) func() string {
		return func() string {
			buf.Reset()
			l.Info("charge", "card", card, "card_ptr", &card, slog.Any("any", card))
			l.With("card", card).Info("with")
			l.WithGroup("g").Info("group", "card", card)
			return buf.String()
		}
	}

	outputs := []struct {
		name string
		got  func() string
	}{
		{"String", func() string { return card.String() }},
		{"GoString", func() string { return card.GoString() }},
		{"%v", func() string { return fmt.Sprintf("%v", card) }},
		{"%+v", func() string { return fmt.Sprintf("%+v", card) }},
		{"%#v", func() string { return fmt.Sprintf("%#v", card) }},
		{"%s", func() string { return fmt.Sprintf("%s", card) }},
		{"%q", func() string { return fmt.Sprintf("%q", card) }},
		{"pointer %v", func() string { return fmt.Sprintf("%v", &card) }},
		{"pointer %+v", func() string { return fmt.Sprintf("%+v", &card) }},
		{"pointer %#v", func() string { return fmt.Sprintf("%#v", &card) }},
		{"in exported field %+v", func() string { return fmt.Sprintf("%+v", struct{ Card paygate.Card }{card}) }},
		{"in slice %v", func() string { return fmt.Sprintf("%v", []paygate.Card{card}) }},
		{"Sprint", func() string { return fmt.Sprint(card) }},
		{"Sprintln", func() string { return fmt.Sprintln(card) }},
		{"slog text", logTo(textLog, &textBuf)},
		{"slog json", logTo(jsonLog, &jsonBuf)},
	}
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			got := o.got()
			if strings.Contains(got, pan) {
				t.Errorf("got %q, want no full card number", got)
			}
			if strings.Contains(got, cvc) {
				t.Errorf("got %q, want no CVC", got)
			}
			if !strings.Contains(got, masked) {
				t.Errorf("got %q, want the masked number %q", got, masked)
			}
		})
	}
}

func TestCardSummary(t *testing.T) {
	card := paygate.Card{Number: "378282246310005", ExpMonth: 7, ExpYear: 2031, CVC: "1234"}
	got := card.Summary()
	want := paygate.CardSummary{Brand: paygate.BrandAmex, First6: "378282", Last4: "0005", ExpMonth: 7, ExpYear: 2031}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func FuzzValidatePAN(f *testing.F) {
	for _, s := range []string{
		"", "4242424242424242", "4242424242424241", "378282246310005", "5555555555554444",
		"2221000000000009", "2720990000000007", "6011111111111117", "3530111333300000",
		"4242 4242 4242 4242", "424242424242424242424", "99999999999999", "abc", "\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pan string) {
		err := paygate.ValidatePAN(pan, "card[number]")
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, pan)
		if err == nil {
			if digits != pan || len(pan) < 12 || len(pan) > 19 {
				t.Fatalf("ValidatePAN(%q): got nil, want an error for a non 12-19 digit input", pan)
			}
			if paygate.CardBrand(pan) == "" || !paygate.Luhn(pan) {
				t.Fatalf("ValidatePAN(%q): got nil, want an error (brand %q, Luhn %v)", pan, paygate.CardBrand(pan), paygate.Luhn(pan))
			}
			return
		}
		e := MustPaygateError(t, err)
		if e.Code == "" || e.Message == "" {
			t.Fatalf("got %+v, want a code and a message", e)
		}
		if len(digits) >= 12 {
			msg := err.Error()
			if strings.Contains(msg, pan) || strings.Contains(msg, digits) {
				t.Fatalf("error %q contains the input", msg)
			}
		}
	})
}

func FuzzRedactPANs(f *testing.F) {
	for _, s := range []string{
		"", "card 4242 4242 4242 4242.", "4242-4242-4242-4242", "12345678901", "1234 -4242424242424242",
		"a1b2c3", "4242  4242 4242 4242", "0000000000000000000000000", "\xff4242424242424242",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := paygate.RedactPANs(s)
		run := 0
		for i := 0; i < len(got); i++ {
			if got[i] >= '0' && got[i] <= '9' {
				run++
				if run >= 12 {
					t.Fatalf("RedactPANs(%q): got %q, want no run of 12 digits", s, got)
				}
			} else {
				run = 0
			}
		}
		if again := paygate.RedactPANs(got); again != got {
			t.Fatalf("RedactPANs not idempotent on %q: got %q, then %q", s, got, again)
		}
		// Nor a run of 12 digits of any script, joined by any separators.
		if n := longestDigitRun(got); n >= 12 {
			t.Fatalf("RedactPANs(%q): got %q, a run of %d digits", s, got, n)
		}
		if paygate.CheckFreeText("x", got) != nil {
			t.Fatalf("RedactPANs(%q): got %q, which still holds a card number", s, got)
		}
		if net := paygate.RedactCardNumbers(s); paygate.CheckFreeText("x", net) != nil {
			t.Fatalf("RedactCardNumbers(%q): got %q, which still holds a card number", s, net)
		}
	})
}

// longestDigitRun counts the digits of the longest run of s: digit groups
// (any Unicode decimal digits) joined by anything but letters. Written
// apart from the code it checks.
func longestDigitRun(s string) int {
	longest, run := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			run++
			longest = max(longest, run)
		case unicode.IsLetter(r):
			run = 0
		}
	}
	return longest
}

// cardForms are the brand prefixes and lengths FuzzCardNumberInText writes
// card numbers with.
var cardForms = []struct {
	prefix string
	length int
}{
	{"4", 16}, {"4", 13}, {"4", 19}, {"51", 16}, {"2720", 16}, {"34", 15}, {"37", 15}, {"6011", 16}, {"65", 19},
	{"3530", 16}, {"3589", 18}, {"62", 17}, {"36", 14}, {"300", 16}, {"38", 19},
}

// digitZeros are the zeros of scripts of decimal digits, to write numbers in.
var digitZeros = []rune{'0', 0xFF10 /* fullwidth */, 0x0660 /* Arabic-Indic */, 0x0966 /* Devanagari */, 0x1D7CE /* mathematical bold */, 0x0E50 /* Thai */}

// separators go between the groups of a card number's digits.
var separators = []string{"", " ", "/", "_", ",", "-", ".", "*", "·", "|", "\xff", "€", ":", "\\", "+", "#"}

// spaces may surround a separator.
var spaces = []string{"", "", " ", "\u00a0", "\u200b", "\t", "\u3000", "\u202f", "  "}

// FuzzCardNumberInText: any Luhn-valid number of a known brand and length,
// in any script of decimal digits, written whole or in groups of 3 or more
// digits with one kind of separator between them (any spaces around it),
// anywhere in any text (not glued to other digits), is refused by
// CheckFreeText and masked by RedactPANs and RedactCardNumbers.
func FuzzCardNumberInText(f *testing.F) {
	f.Add("order ", " thanks", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add("", "", []byte{})
	f.Add("x", "y", []byte{3, 200, 17, 99, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4})
	f.Add("4242 ", "abc", []byte{255, 254, 253, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7})
	f.Add("\xef\xbc", "\x94", []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, before, after string, pick []byte) {
		next := func() int {
			if len(pick) == 0 {
				return 0
			}
			b := pick[0]
			pick = pick[1:]
			return int(b)
		}
		form := cardForms[next()%len(cardForms)]
		partial := form.prefix
		for len(partial) < form.length-1 {
			partial += string(rune('0' + next()%10))
		}
		pan := partial + string(paygate.LuhnCheckDigit(partial))
		if paygate.ValidatePAN(pan, "card[number]") != nil {
			t.Fatalf("test bug: %s is not a valid card number", paygate.MaskPAN(pan))
		}
		zero := digitZeros[next()%len(digitZeros)]
		sep := separators[next()%len(separators)]
		var b strings.Builder
		b.WriteString(before)
		b.WriteString(" ") // not glued to a digit of before
		group := 0
		for i, d := range pan {
			// A new group after 3 to 6 digits, if 3 or more are left.
			if group >= 3 && len(pan)-i >= 3 && (group == 6 || next()%3 == 0) {
				b.WriteString(spaces[next()%len(spaces)] + sep + spaces[next()%len(spaces)])
				group = 0
			}
			if next()%4 == 0 { // scripts may change within the number
				zero = digitZeros[next()%len(digitZeros)]
			}
			b.WriteRune(zero + d - '0')
			group++
		}
		b.WriteString(" ")
		b.WriteString(after)
		text := b.String()
		if err := paygate.CheckFreeText("description", text); err == nil {
			t.Fatalf("CheckFreeText(%q): got nil, want the card number refused", text)
		}
		for name, redact := range map[string]func(string) string{"RedactPANs": paygate.RedactPANs, "RedactCardNumbers": paygate.RedactCardNumbers} {
			got := redact(text)
			if paygate.CheckFreeText("description", got) != nil || strings.Contains(got, pan) {
				t.Fatalf("%s(%q): got %q, want the card number masked", name, text, got)
			}
		}
	})
}

func TestCardFormatAndJSONMasked(t *testing.T) {
	c := paygate.Card{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2030, CVC: "987"}
	// (fmt cannot call methods of unexported fields: a Card kept in one
	// would print whole. Keep cards in exported fields or variables.)
	wrapped := struct{ Card paygate.Card }{c}
	outs := []string{fmt.Sprintf("%d %x %s %q", c, c, c, c), fmt.Sprintf("%+v", wrapped)}
	b, err := json.Marshal(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(b))
	for _, out := range outs {
		if strings.Contains(out, "4242424242424242") || strings.Contains(out, "987") {
			t.Errorf("got %q, want the card masked", out)
		}
	}
}

func TestNetworkRequestMasked(t *testing.T) {
	r := paygate.NetworkRequest{Kind: paygate.NetworkSale, PAN: "5555555555554444", CVC: "618", STAN: "000001"}
	var buf strings.Builder
	// Without the time: its digits could hold the CVC's by chance.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("send", "req", r)
	for _, out := range []string{fmt.Sprintf("%v|%+v|%#v|%s|%d", r, r, r, r, r), buf.String()} {
		if strings.Contains(out, "5555555555554444") || strings.Contains(out, "618") {
			t.Errorf("got %q, want PAN masked and CVC hidden", out)
		}
		if !strings.Contains(out, "555555") {
			t.Errorf("got %q, want the BIN shown", out)
		}
	}
}
