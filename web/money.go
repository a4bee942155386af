package web

import (
	"github.com/paygate/paygate"
)

// Amounts are shown with the currency's exponent (paygate.FormatAmount),
// thousands grouped, and the currency's symbol where one is unambiguous
// enough to show alone; the code is shown beside it all the same.

// symbols are the currency symbols shown before an amount.
var symbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪",
	"NGN": "₦", "PHP": "₱", "THB": "฿", "TRY": "₺", "UAH": "₴", "VND": "₫",
}

// money is an amount as a page shows it.
type money struct {
	Symbol string // "$", or "" when the code stands alone
	Number string // "1,234.50"
	Code   string // "USD"
}

// Text is the amount in one piece: "$1,234.50" or "1,234.50 CHF".
func (m money) Text() string {
	if m.Symbol != "" {
		return m.Symbol + m.Number
	}
	return m.Number + " " + m.Code
}

func formatMoney(amount int64, c paygate.Currency) money {
	return money{Symbol: symbols[c.Code], Number: paygate.FormatAmountGrouped(amount, c), Code: c.Code}
}

// groupInt is a whole number with its thousands grouped: "12,345".
func groupInt(v int64) string { return paygate.FormatAmountGrouped(v, paygate.Currency{}) }
