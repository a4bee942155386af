package http_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paygate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLS: a Server given a bare TLS configuration serves HTTP/2 and
// refuses CBC suites; past its connection cap it refuses over TLS, in
// HTTP/1.1, which every client reads.
func TestTLS(t *testing.T) {
	cert, roots := selfSigned(t)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Server: func(s *pghttp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}})
	if !strings.HasPrefix(g.URL(), "https://") {
		t.Fatalf("URL %s, want https", g.URL())
	}
	gatewaytest.CheckTLS(t, g.URL(), roots)

	g = gatewaytest.MustOpen(t, gatewaytest.Options{Server: func(s *pghttp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.MaxConns = 2
	}})
	// The places taken by connections that have not even said hello.
	for range 2 {
		dial(t, g)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(g.URL() + "/healthz")
	if err != nil {
		t.Fatalf("past the cap over TLS: %v", err)
	}
	defer resp.Body.Close()
	checkRefused(t, resp)
}

func TestTLSConfig(t *testing.T) {
	cert, _ := selfSigned(t)
	c := pghttp.TLSConfig(cert)
	if c.MinVersion != tls.VersionTLS12 || len(c.NextProtos) != 2 || c.NextProtos[0] != "h2" {
		t.Errorf("TLSConfig: min version %x, protocols %v", c.MinVersion, c.NextProtos)
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")) {
			t.Errorf("TLSConfig allows %s", name)
		}
	}
}
