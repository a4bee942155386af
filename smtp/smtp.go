// Package smtp sends paygate's e-mail (paygate.MailSender) to an SMTP
// server, with github.com/wneessen/go-mail composing the MIME (a text and
// an HTML part, UTF-8, quoted-printable, encoded words for non-ASCII
// headers) and speaking SMTP (STARTTLS or implicit TLS, authentication).
//
// The server is given as a URL, as `paygate serve --smtp-url` takes it:
//
//	smtp://user:password@host:port?tls=starttls
//
// tls is starttls (the default: the connection must be upgraded, else
// nothing is sent), implicit (TLS from the first byte, "smtps" on port
// 465; the scheme smtps:// says the same) or none (plain text: for a relay
// on the same host or in tests). The port defaults to 587, 465 and 25
// respectively. User and password, when given, authenticate with the
// strongest mechanism the server offers.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/paygate/paygate"
)

// TLS modes of a server URL's tls parameter.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	TLSNone     = "none"
)

// Config is where and as whom mail is sent.
type Config struct {
	// URL is the server: smtp://[user[:password]@]host[:port][?tls=starttls|implicit|none].
	URL string
	// From is the sender's address, with or without a name
	// ("receipts@example.com", "Paygate <receipts@example.com>"). A
	// customer's mail shows the merchant's name with this address.
	From string
	// TLSConfig, if set, is the TLS configuration (tests trust their own
	// certificate with it); else the system's roots verify the host.
	TLSConfig *tls.Config
	// Timeout bounds dialing and each SMTP command (default 15 s).
	Timeout time.Duration
}

// Sender sends mail to one SMTP server. It is safe for concurrent use:
// each Send makes its own connection.
type Sender struct {
	host       string
	port       int
	mode       string
	user, pass string
	from       *netmail.Address
	tlsConfig  *tls.Config
	timeout    time.Duration
}

var _ paygate.MailSender = (*Sender)(nil)

// New checks c and returns its sender. Its errors never show the password.
func New(c Config) (*Sender, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: it does not parse as smtp://user:password@host:port?tls=starttls")
	}
	s := &Sender{host: u.Hostname(), mode: TLSStartTLS, tlsConfig: c.TLSConfig, timeout: c.Timeout}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.mode = TLSImplicit
	default:
		return nil, fmt.Errorf("smtp url: scheme %q: want smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, fmt.Errorf("smtp url: no host")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return nil, fmt.Errorf("smtp url: unknown parameter %q (only tls)", k)
		}
	}
	if v := q.Get("tls"); v != "" {
		switch v {
		case TLSStartTLS, TLSImplicit, TLSNone:
			s.mode = v
		default:
			return nil, fmt.Errorf("smtp url: tls=%q: want starttls, implicit or none", v)
		}
	}
	switch p := u.Port(); {
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("smtp url: port %q: want 1 to 65535", p)
		}
		s.port = n
	case s.mode == TLSImplicit:
		s.port = 465
	case s.mode == TLSNone:
		s.port = 25
	default:
		s.port = 587
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if c.From == "" {
		return nil, fmt.Errorf("mail from: an address is required to send mail (--mail-from)")
	}
	if s.from, err = netmail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("mail from %q: not an e-mail address", c.From)
	}
	if s.timeout <= 0 {
		s.timeout = 15 * time.Second
	}
	return s, nil
}

// String describes the server for logs, without the password.
func (s *Sender) String() string {
	who := ""
	if s.user != "" {
		who = s.user + "@"
	}
	return fmt.Sprintf("smtp://%s%s:%d (tls=%s, from %s)", who, s.host, s.port, s.mode, s.from.Address)
}

// Send sends m, composed: its text and HTML as alternatives, to m.To,
// with m.ID in its Message-ID so that a receiver can tell a resent copy.
// A refusal for good (an SMTP 5xx) wraps paygate.ErrMailRefused.
func (s *Sender) Send(ctx context.Context, m *paygate.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return fmt.Errorf("%w: %v", paygate.ErrMailRefused, err)
	}
	c, err := gomail.NewClient(s.host, s.options()...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.host, s.port, err)
	}
	err = c.SendWithSMTPClient(conn, msg)
	// Once the server took the message, a failure to say goodbye is not
	// a failure to send (retrying would send it twice).
	_ = c.CloseWithSMTPClient(conn)
	if err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return fmt.Errorf("%w: smtp %s:%d: %v", paygate.ErrMailRefused, s.host, s.port, err)
		}
		return fmt.Errorf("smtp %s:%d: %w", s.host, s.port, err)
	}
	return nil
}

func (s *Sender) options() []gomail.Option {
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.timeout), gomail.WithoutNoop()}
	switch s.mode {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	return opts
}

// message is m as MIME: From the merchant's name (a customer's mail) or
// the configured name at the configured address.
func (s *Sender) message(m *paygate.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	name := s.from.Name
	if m.Recipient == paygate.MailToCustomer && m.MerchantName != "" {
		name = m.MerchantName
	}
	if name == "" {
		name = "paygate"
	}
	if err := msg.FromFormat(name, s.from.Address); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	msg.SetMessageIDWithValue(m.ID + "@" + domain)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}
