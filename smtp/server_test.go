package smtp_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// received is a message the test server took.
type received struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated ("" : nobody)
}

// server is a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1, run by the test: it keeps what it receives, answers as the
// test says, and can be stopped and started again on the same address.
type server struct {
	t    *testing.T
	addr string
	tls  *tls.Config // the server's; nil: no STARTTLS, no implicit TLS
	user string      // the account AUTH PLAIN accepts ("" : no AUTH)
	pass string
	// implicit serves TLS from the first byte.
	implicit bool

	mu       sync.Mutex
	srv      *gosmtp.Server
	msgs     []received
	rcptCode int // answer RCPT TO with this SMTP code (0: accept)
}

// startServer starts a server on a free port.
func startServer(t *testing.T, configure func(s *server)) *server {
	t.Helper()
	s := &server{t: t, addr: "127.0.0.1:0"}
	if configure != nil {
		configure(s)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// Started again after a stop, the address may take a moment to free.
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	if s.implicit {
		ln = tls.NewListener(ln, s.tls)
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	if !s.implicit {
		srv.TLSConfig = s.tls
	}
	srv.AllowInsecureAuth = s.tls == nil
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

// stop stops the server: connections to its address are refused.
func (s *server) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (s *server) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *server) answerRcpt(code int) {
	s.mu.Lock()
	s.rcptCode = code
	s.mu.Unlock()
}

type session struct {
	s    *server
	user string
	msg  received
}

func (x *session) AuthMechanisms() []string {
	if x.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != x.s.user || password != x.s.pass {
			return errors.New("invalid credentials")
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if x.s.user != "" && x.user == "" {
		return gosmtp.ErrAuthRequired
	}
	x.msg = received{From: from, User: x.user}
	return nil
}

func (x *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	x.s.mu.Lock()
	code := x.s.rcptCode
	x.s.mu.Unlock()
	if code != 0 {
		return &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{code / 100, 1, 1}, Message: "not today"}
	}
	x.msg.To = append(x.msg.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.msg.Data = b
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, x.msg)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.msg = received{} }
func (x *session) Logout() error { return nil }

// selfSigned returns a server TLS configuration for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

// count returns how many of the messages hold part.
func count(msgs []received, part string) int {
	n := 0
	for _, m := range msgs {
		if bytes.Contains(m.Data, []byte(part)) {
			n++
		}
	}
	return n
}
