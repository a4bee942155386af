package node

// The link to the acquirer: a bank run apart ("paygate bank"), over TCP and
// optionally TLS.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

// AcquirerConfig is the link to a bank run apart ("paygate bank"); an empty
// Addr means the simulated bank in process.
type AcquirerConfig struct {
	Addr  string // host:port; "" for the bank in process
	TLS   bool   // verify against the system roots
	CA    string // PEM file of the CAs to trust; implies TLS
	Conns int    // connections in the pool
	// Link tunes the link further (echo and reconnection timing); its TLS,
	// Conns and Logger are taken from the fields above and the node's.
	Link iso8583.DialOptions
}

// Check reports settings that cannot work (the CA file included), before
// anything is opened.
func (c AcquirerConfig) Check() error {
	if c.Addr == "" {
		if c.TLS || c.CA != "" {
			return errors.New("--acquirer-tls and --acquirer-ca need --acquirer")
		}
		return nil
	}
	if c.Conns <= 0 {
		return errors.New("--acquirer-conns must be positive")
	}
	_, err := c.tlsConfig()
	return err
}

// tlsConfig returns the link's TLS configuration, nil for none.
func (c AcquirerConfig) tlsConfig() (*tls.Config, error) {
	if !c.TLS && c.CA == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("--acquirer-ca: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acquirer-ca: no PEM certificate in %s", c.CA)
		}
	}
	return conf, nil
}

// openAcquirer starts the link to the acquirer c names. It does not fail
// when the acquirer cannot be reached: it says so in the log and the link
// keeps trying.
// DialAcquirer opens a link to a bank server as c says (for paygate settle).
func DialAcquirer(ctx context.Context, c AcquirerConfig) (*iso8583.TCPLink, error) {
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return openAcquirer(ctx, c, slog.New(slog.DiscardHandler))
}

func openAcquirer(ctx context.Context, c AcquirerConfig, logger *slog.Logger) (*iso8583.TCPLink, error) {
	o := c.Link
	o.Conns, o.Logger = c.Conns, logger.With("component", "acquirer")
	var err error
	if o.TLS, err = c.tlsConfig(); err != nil {
		return nil, err
	}
	l, err := iso8583.NewLink(c.Addr, o)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.WaitUp(wctx); err != nil {
		logger.Warn("acquirer not reachable at start; serving anyway, payments are declined with 91 until it is; reconnecting in the background",
			"acquirer", c.Addr, paygate.LogError, err)
	} else {
		logger.Info("acquirer link up", "acquirer", c.Addr, "tls", o.TLS != nil, "conns", c.Conns)
	}
	return l, nil
}
