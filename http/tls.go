package http

import (
	"crypto/tls"
	"slices"
)

// aeadSuites are the TLS 1.2 cipher suites a Server accepts: forward-secret
// key exchange (ECDHE) with an AEAD cipher only — no CBC, no SHA-1 MACs, no
// RSA key exchange. (TLS 1.3 suites are all AEAD and not configurable.)
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig returns the server TLS configuration for a certificate: TLS 1.2
// with AEAD suites only, or TLS 1.3, offering HTTP/2 and HTTP/1.1.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return secureTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
}

// secureTLS returns a copy of c held to TLSConfig's rules: at least TLS
// 1.2, AEAD suites only, and HTTP/2 offered unless c names its protocols.
func secureTLS(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	c.CipherSuites = slices.DeleteFunc(slices.Clone(c.CipherSuites), func(id uint16) bool { return !slices.Contains(aeadSuites, id) })
	if len(c.CipherSuites) == 0 {
		c.CipherSuites = slices.Clone(aeadSuites)
	}
	if len(c.NextProtos) == 0 {
		c.NextProtos = []string{"h2", "http/1.1"}
	}
	return c
}
