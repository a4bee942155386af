package paygate

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"
)

// mailView is what a mail shows, whichever its kind and recipient.
type mailView struct {
	Subject string
	Heading string
	Intro   string
	Rows    [][2]string // label, value
	Footer  string
}

// Compose writes m's subject, text and HTML from its facts, merchant name,
// kind and recipient. The card shows as its brand and last four digits.
func (m *Mail) Compose() {
	v := m.view()
	m.Subject = oneLine(v.Subject)
	var b strings.Builder
	b.WriteString(v.Heading + "\n\n" + v.Intro + "\n\n")
	width := 0
	for _, r := range v.Rows {
		width = max(width, len([]rune(r[0])))
	}
	for _, r := range v.Rows {
		fmt.Fprintf(&b, "%-*s  %s\n", width+1, r[0]+":", r[1])
	}
	b.WriteString("\n" + v.Footer + "\n")
	m.Text = b.String()
	var h strings.Builder
	if err := mailHTML.Execute(&h, v); err != nil {
		h.Reset()
		h.WriteString("<pre>" + template.HTMLEscapeString(m.Text) + "</pre>")
	}
	m.HTML = h.String()
}

func (m *Mail) view() mailView {
	f := m.Facts
	amount := mailAmount(f.Amount, f.Currency)
	name := oneLine(m.MerchantName)
	if name == "" {
		name = "the merchant"
	}
	rows := [][2]string{{"Merchant", name}, {"Amount", amount}}
	if f.ConfirmationNumber != "" {
		rows = append(rows, [2]string{"Confirmation number", f.ConfirmationNumber})
	}
	if f.CardLast4 != "" {
		rows = append(rows, [2]string{"Card", strings.TrimSpace(brandName(f.CardBrand) + " ending in " + f.CardLast4)})
	}
	if f.OrderID != "" {
		rows = append(rows, [2]string{"Order", oneLine(f.OrderID)})
	}
	rows = append(rows, [2]string{"Date", f.At.UTC().Format("2 January 2006, 15:04 UTC")}, [2]string{"Payment", m.PaymentID})
	v := mailView{Rows: rows, Footer: "Please keep this e-mail for your records. Questions about this payment are best sent to " + name + "."}
	merchant := m.Recipient == MailToMerchant
	if merchant {
		v.Footer = "You receive this e-mail because it is the notification address in your paygate settings."
	}
	switch m.Kind {
	case MailReceipt, MailMerchantCopy:
		what := "Payment"
		if !f.Captured {
			what = "Authorization"
		}
		v.Heading = what + " approved"
		v.Subject = fmt.Sprintf("Your receipt from %s: %s (%s)", name, amount, f.ConfirmationNumber)
		v.Intro = fmt.Sprintf("Thank you for your payment to %s. It was approved.", name)
		if !f.Captured {
			v.Intro = fmt.Sprintf("Thank you for your order with %s. Your card was authorized for the amount below; it is charged when %s completes the order.", name, name)
		}
		if merchant {
			v.Subject = fmt.Sprintf("%s approved: %s (%s)", what, amount, f.ConfirmationNumber)
			v.Intro = fmt.Sprintf("A payment to %s was approved.", name)
		}
	case MailRefundNotice:
		refund := mailAmount(f.RefundAmount, f.Currency)
		v.Heading = "Refund"
		v.Rows = append([][2]string{{"Refunded", refund}}, v.Rows...)
		v.Subject = fmt.Sprintf("%s refunded %s to your card (%s)", name, refund, f.ConfirmationNumber)
		v.Intro = fmt.Sprintf("%s refunded %s of your payment. It may take a few days to show on your statement.", name, refund)
		if merchant {
			v.Subject = fmt.Sprintf("Refund of %s on %s", refund, f.ConfirmationNumber)
			v.Intro = fmt.Sprintf("A refund of %s succeeded.", refund)
		}
	case MailVoidNotice:
		v.Heading = "Payment canceled"
		v.Subject = fmt.Sprintf("%s canceled your payment of %s (%s)", name, amount, f.ConfirmationNumber)
		v.Intro = fmt.Sprintf("%s canceled your payment: your card is not charged. A hold may take a few days to disappear from your statement.", name)
		if merchant {
			v.Subject = fmt.Sprintf("Payment voided: %s (%s)", amount, f.ConfirmationNumber)
			v.Intro = "An approved payment was voided: the customer is not charged."
		}
	}
	return v
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: system-ui, sans-serif; color: #1a1a1a; max-width: 36em; margin: 1em auto;">
<h1 style="font-size: 1.4em;">{{.Heading}}</h1>
<p>{{.Intro}}</p>
<table style="border-collapse: collapse;">
{{range .Rows}}<tr><th scope="row" style="text-align: left; padding: .25em 1em .25em 0;">{{index . 0}}</th><td style="padding: .25em 0;">{{index . 1}}</td></tr>
{{end}}</table>
<p style="color: #555; font-size: .9em;">{{.Footer}}</p>
</body></html>
`))

// mailAmount is an amount as a mail shows it: the currency's exponent,
// thousands grouped, and the code: "1,234.50 USD", "1,200 JPY".
func mailAmount(amount int64, code string) string {
	c, ok := LookupCurrency(code)
	if !ok {
		return fmt.Sprintf("%d %s", amount, code)
	}
	return FormatAmountGrouped(amount, c) + " " + c.Code
}

// brandName is a card brand as a person reads it.
func brandName(brand string) string {
	switch brand {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "discover":
		return "Discover"
	case "":
		return "Card"
	}
	return strings.ToUpper(brand[:1]) + brand[1:]
}

// oneLine turns every control character (a line break in a name could
// forge a header) into a space.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
