package smtp_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/smtp"
)

// newMail returns a composed receipt from a merchant whose name is not
// ASCII.
func newMail(t *testing.T, recipient string) *paygate.Mail {
	t.Helper()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := &paygate.Mail{ID: paygate.NewID("mail", at), MerchantID: "acct_1", PaymentID: "pay_1", Kind: paygate.MailReceipt,
		Recipient: recipient, To: "zoe.buyer@example.com", MerchantName: "Café Zoë — Ünïcode & <Co>",
		Facts: paygate.MailFacts{Amount: 123450, Currency: "EUR", Captured: true, ConfirmationNumber: "PG-ABCD-EFGH",
			CardBrand: paygate.BrandVisa, CardLast4: "4242", OrderID: "order-77", At: at},
		Status: paygate.MailQueued, CreatedAt: at}
	if recipient == paygate.MailToMerchant {
		m.Kind, m.To = paygate.MailMerchantCopy, "orders@example.com"
	}
	m.Compose()
	return m
}

// parts is a received message, decoded.
type parts struct {
	Header mail.Header
	Text   string
	HTML   string
	Types  []string // the parts' content types
}

func decode(t *testing.T, raw []byte) parts {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	out := parts{Header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v): want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		ct := p.Header.Get("Content-Type")
		out.Types = append(out.Types, ct)
		var body io.Reader = p
		switch enc := p.Header.Get("Content-Transfer-Encoding"); strings.ToLower(enc) {
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		case "7bit", "8bit", "":
		default:
			t.Fatalf("part %s: Content-Transfer-Encoding %q: want quoted-printable (or 7/8 bit)", ct, enc)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("read part %s: %v", ct, err)
		}
		text := strings.ReplaceAll(string(b), "\r\n", "\n") // lines end in CRLF on the wire
		if strings.HasPrefix(ct, "text/plain") {
			out.Text = text
		} else if strings.HasPrefix(ct, "text/html") {
			out.HTML = text
		}
	}
	return out
}

// TestSendContent sends a receipt over STARTTLS with authentication and
// reads it back as a mail reader would: MIME parts, encodings, headers
// in encoded words, and nothing of the card beyond its last four digits.
func TestSendContent(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := startServer(t, func(s *server) { s.tls, s.user, s.pass = serverTLS, "paygate", "s3cret p@ss" })
	s, err := smtp.New(smtp.Config{URL: "smtp://paygate:s3cret%20p%40ss@" + srv.addr + "?tls=starttls",
		From: "Receipts <receipts@gateway.example>", TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), "s3cret") {
		t.Errorf("String() shows the password: %s", s)
	}
	m := newMail(t, paygate.MailToCustomer)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.User != "paygate" || r.From != "receipts@gateway.example" || len(r.To) != 1 || r.To[0] != m.To {
		t.Errorf("envelope: user %q, from %q, to %v; want paygate, receipts@gateway.example, [%s]", r.User, r.From, r.To, m.To)
	}
	for _, line := range bytes.Split(r.Data, []byte("\n")) {
		if len(line) > 998 {
			t.Errorf("a line of %d bytes: longer than SMTP allows", len(line))
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("raw message holds non-ASCII byte %#x: headers and bodies must be encoded\n%s", c, r.Data)
			}
		}
	}
	p := decode(t, r.Data)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(p.Header.Get("Subject"))
	if err != nil || subject != m.Subject || !strings.Contains(subject, "Café Zoë") {
		t.Errorf("Subject: got %q (%v), want %q", subject, err, m.Subject)
	}
	from, err := (&mail.AddressParser{WordDecoder: dec}).Parse(p.Header.Get("From"))
	if err != nil || from.Name != m.MerchantName || from.Address != "receipts@gateway.example" {
		t.Errorf("From: got %+v (%v), want the merchant's name %q at receipts@gateway.example", from, err, m.MerchantName)
	}
	if to := p.Header.Get("To"); !strings.Contains(to, "example.com") {
		t.Errorf("To: got %q", to)
	}
	if id := p.Header.Get("Message-Id"); id != "<"+m.ID+"@gateway.example>" {
		t.Errorf("Message-ID: got %q, want <%s@gateway.example>", id, m.ID)
	}
	if p.Header.Get("Auto-Submitted") != "auto-generated" || p.Header.Get("Date") == "" || p.Header.Get("Mime-Version") != "1.0" {
		t.Errorf("headers: Auto-Submitted %q, Date %q, MIME-Version %q", p.Header.Get("Auto-Submitted"), p.Header.Get("Date"), p.Header.Get("Mime-Version"))
	}
	if len(p.Types) != 2 || !strings.HasPrefix(p.Types[0], "text/plain") || !strings.HasPrefix(p.Types[1], "text/html") ||
		!strings.Contains(strings.ToLower(p.Types[0]), "charset=utf-8") {
		t.Errorf("parts: %v, want text/plain; charset=UTF-8 then text/html", p.Types)
	}
	if p.Text != m.Text || p.HTML != m.HTML {
		t.Errorf("bodies do not decode to what was composed:\ntext %q\nwant %q", p.Text, m.Text)
	}
	for _, want := range []string{"1,234.50 EUR", "PG-ABCD-EFGH", "Visa ending in 4242", "Café Zoë", "order-77"} {
		if !strings.Contains(p.Text, want) || !strings.Contains(p.HTML, strings.ReplaceAll(want, "&", "&amp;")) {
			t.Errorf("text or HTML lacks %q:\n%s\n%s", want, p.Text, p.HTML)
		}
	}
	if !strings.Contains(p.HTML, "&lt;Co&gt;") || strings.Contains(p.HTML, "<Co>") {
		t.Errorf("HTML does not escape the merchant's name:\n%s", p.HTML)
	}
	if strings.Contains(string(r.Data), "424242") {
		t.Errorf("the message holds more of the card than its last 4")
	}
}

// TestSendImplicitTLS sends over TLS from the first byte, without
// authentication, a merchant's copy (from the configured name).
func TestSendImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := startServer(t, func(s *server) { s.tls, s.implicit = serverTLS, true })
	s, err := smtp.New(smtp.Config{URL: "smtps://" + srv.addr, From: "receipts@gateway.example", TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	m := newMail(t, paygate.MailToMerchant)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	p := decode(t, got[0].Data)
	if from := p.Header.Get("From"); !strings.Contains(from, "paygate") || strings.Contains(from, "Caf") {
		t.Errorf("a merchant's copy From: got %q, want paygate's name, not the merchant's", from)
	}
	if !strings.Contains(p.Text, "A payment to Café Zoë") {
		t.Errorf("merchant's copy text:\n%s", p.Text)
	}
}

// TestSendStartTLSRequired: a server that cannot upgrade the connection
// gets nothing, and the error says so (to be retried).
func TestSendStartTLSRequired(t *testing.T) {
	srv := startServer(t, nil) // no TLS
	s, err := smtp.New(smtp.Config{URL: "smtp://" + srv.addr, From: "receipts@gateway.example"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), newMail(t, paygate.MailToCustomer))
	if err == nil || errors.Is(err, paygate.ErrMailRefused) {
		t.Errorf("Send without STARTTLS: got %v, want a retryable error", err)
	}
	if n := len(srv.received()); n != 0 {
		t.Errorf("server received %d messages in clear text, want 0", n)
	}
}

// TestSendRefused: a 5xx is a refusal for good, a 4xx is worth a retry.
func TestSendRefused(t *testing.T) {
	srv := startServer(t, nil)
	s, err := smtp.New(smtp.Config{URL: "smtp://" + srv.addr + "?tls=none", From: "receipts@gateway.example"})
	if err != nil {
		t.Fatal(err)
	}
	srv.answerRcpt(550)
	if err := s.Send(t.Context(), newMail(t, paygate.MailToCustomer)); !errors.Is(err, paygate.ErrMailRefused) {
		t.Errorf("Send answered 550: got %v, want ErrMailRefused", err)
	}
	srv.answerRcpt(451)
	if err := s.Send(t.Context(), newMail(t, paygate.MailToCustomer)); err == nil || errors.Is(err, paygate.ErrMailRefused) {
		t.Errorf("Send answered 451: got %v, want a retryable error", err)
	}
	srv.stop()
	if err := s.Send(t.Context(), newMail(t, paygate.MailToCustomer)); err == nil || errors.Is(err, paygate.ErrMailRefused) {
		t.Errorf("Send to a stopped server: got %v, want a retryable error", err)
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		url, from, want, bad string
	}{
		{url: "smtp://mail.example.com", from: "a@example.com", want: "smtp://mail.example.com:587 (tls=starttls, from a@example.com)"},
		{url: "smtp://u:pw@mail.example.com?tls=implicit", from: "a@example.com", want: "smtp://u@mail.example.com:465 (tls=implicit, from a@example.com)"},
		{url: "smtps://mail.example.com:2465", from: "P <a@example.com>", want: "smtp://mail.example.com:2465 (tls=implicit, from a@example.com)"},
		{url: "smtp://127.0.0.1?tls=none", from: "a@example.com", want: "smtp://127.0.0.1:25 (tls=none, from a@example.com)"},
		{url: "http://mail.example.com", from: "a@example.com", bad: "scheme"},
		{url: "smtp://u:topsecret@mail.example.com?tls=maybe", from: "a@example.com", bad: "tls="},
		{url: "smtp://u:topsecret@mail.example.com?tsl=none", from: "a@example.com", bad: "unknown parameter"},
		{url: "smtp://u:topsecret@mail.example.com:99999", from: "a@example.com", bad: "port"},
		{url: "smtp://u:topsecret@/", from: "a@example.com", bad: "no host"},
		{url: "smtp://u:topsecret@mail.example.com", from: "", bad: "--mail-from"},
		{url: "smtp://u:topsecret@mail.example.com", from: "not an address", bad: "not an e-mail address"},
		{url: "smtp://u:top secret@mail\x7f.example.com", from: "a@example.com", bad: "does not parse"},
	} {
		s, err := smtp.New(smtp.Config{URL: tt.url, From: tt.from})
		switch {
		case tt.bad != "":
			if err == nil || !strings.Contains(err.Error(), tt.bad) || strings.Contains(err.Error(), "secret") {
				t.Errorf("New(%q, %q): got %v, want an error about %q without the password", tt.url, tt.from, err, tt.bad)
			}
		case err != nil:
			t.Errorf("New(%q): %v", tt.url, err)
		case s.String() != tt.want:
			t.Errorf("New(%q): got %s, want %s", tt.url, s, tt.want)
		}
	}
}
