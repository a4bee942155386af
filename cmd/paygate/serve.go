package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/metrics"
	"github.com/paygate/paygate/node"
	"github.com/paygate/paygate/smtp"
)

// serveConfig is everything serve needs, read from flags and environment.
type serveConfig struct {
	Addr           string
	AdminAddr      string // metrics and profiles; "": none
	DB             string
	KeyFile        string
	TLSCert        string
	TLSKey         string
	DevTLS         bool
	NetworkTimeout time.Duration
	InDoubtAfter   time.Duration
	SweepInterval  time.Duration
	LogLevel       string
	LogFormat      string
	Pool           poolConfig
	Acquirer       node.AcquirerConfig
	MaxConns       int
	RateLimit      int // per API key, requests per second; 0: none
	RateBurst      int

	PublicURL           string
	SessionLifetime     time.Duration
	TRLifetime          time.Duration
	AllowPrivateTargets bool

	// SMTPURL and MailFrom say where e-mail confirmations go ("": they
	// are kept, readable through GET /v1/mail).
	SMTPURL  string
	MailFrom string

	// GCPercent is the garbage collector's target (GOGC) the gateway runs
	// with; 0: Go's default. The GOGC variable, when set, wins.
	GCPercent int
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var c serveConfig
	finish := serveFlags(fs, &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	lw := newLogWriter(stderr)
	defer lw.Close()
	logger, err := newLogger(lw, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	return serve(ctx, c, stdout, logger)
}

// serveFlags defines serve's flags (and their PAYGATE_* variables) on fs,
// to fill c when fs is parsed; finish then checks them and completes c.
// demo-shop reads the settings of the gateway it starts through them too,
// so that both have the same defaults.
func serveFlags(fs *flag.FlagSet, c *serveConfig) (finish func() error) {
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (env PAYGATE_ADDR)")
	fs.StringVar(&c.AdminAddr, "admin-addr", env("ADMIN_ADDR", ""), "admin listen address for Prometheus metrics (/metrics) and profiles (/debug/pprof/), never the public one; keep it private, such as 127.0.0.1:9090; default off (env PAYGATE_ADMIN_ADDR)")
	db := dbFlag(fs)
	fs.StringVar(&c.KeyFile, "master-key-file", env("MASTER_KEY_FILE", ""), "master key file, made with mode 0600 on first start; default paygate.key next to the database; PAYGATE_MASTER_KEY (64 hex characters) overrides it (env PAYGATE_MASTER_KEY_FILE)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("TLS_CERT", ""), "TLS certificate file (env PAYGATE_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("TLS_KEY", ""), "TLS private key file (env PAYGATE_TLS_KEY)")
	fs.BoolVar(&c.DevTLS, "dev-tls", env("DEV_TLS", "") == "true", "serve HTTPS with a self-signed certificate made at start (development only)")
	fs.DurationVar(&c.NetworkTimeout, "network-timeout", durationEnv("NETWORK_TIMEOUT", 10*time.Second), "how long to wait for the acquirer's answer (env PAYGATE_NETWORK_TIMEOUT)")
	fs.DurationVar(&c.InDoubtAfter, "in-doubt-after", durationEnv("IN_DOUBT_AFTER", 0), "age after which an unfinished network exchange is recovered; default 2×network-timeout+5s (env PAYGATE_IN_DOUBT_AFTER)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", durationEnv("SWEEP_INTERVAL", time.Second), "how often to recover work in doubt and void unacknowledged approvals (env PAYGATE_SWEEP_INTERVAL)")
	fs.IntVar(&c.Pool.MaxConns, "db-max-conns", intEnv("DB_MAX_CONNS", 16), "PostgreSQL: reading connections in the pool (env PAYGATE_DB_MAX_CONNS)")
	fs.IntVar(&c.Pool.MinConns, "db-min-conns", intEnv("DB_MIN_CONNS", 2), "PostgreSQL: connections kept open when idle (env PAYGATE_DB_MIN_CONNS)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "base URL customers' browsers reach the gateway on, for the payment page links (default: the listen address) (env PAYGATE_PUBLIC_URL)")
	fs.DurationVar(&c.SessionLifetime, "session-lifetime", durationEnv("SESSION_LIFETIME", paygate.DefaultSessionLifetime), "how long a hosted payment session waits to be paid (env PAYGATE_SESSION_LIFETIME)")
	fs.DurationVar(&c.TRLifetime, "tr-lifetime", durationEnv("TR_LIFETIME", paygate.DefaultTRLifetime), "how long a transparent redirect form is accepted after its timestamp, at most 24h (env PAYGATE_TR_LIFETIME)")
	fs.BoolVar(&c.AllowPrivateTargets, "allow-private-targets", env("ALLOW_PRIVATE_TARGETS", "") == "true", "let the gateway reach merchants' sites on loopback and private addresses (the Web Proxy model): development only, never in production (env PAYGATE_ALLOW_PRIVATE_TARGETS)")
	migrate := fs.Bool("migrate", env("MIGRATE", "true") == "true", "apply missing database migrations on start; with false, refuse to start on a schema that is not current (env PAYGATE_MIGRATE)")
	fs.IntVar(&c.Pool.Writers, "db-writers", intEnv("DB_WRITERS", 2), "PostgreSQL: connections that write, each committing batches of writes (env PAYGATE_DB_WRITERS)")
	fs.DurationVar(&c.Pool.MaxConnLifetime, "db-conn-lifetime", durationEnv("DB_CONN_LIFETIME", time.Hour), "PostgreSQL: close connections older than this (env PAYGATE_DB_CONN_LIFETIME)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env PAYGATE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "text or json (env PAYGATE_LOG_FORMAT)")
	fs.IntVar(&c.MaxConns, "max-conns", intEnv("MAX_CONNS", pghttp.DefaultMaxConns), "connections served at once; past it a new one gets 503 with Retry-After (env PAYGATE_MAX_CONNS)")
	fs.IntVar(&c.RateLimit, "rate-limit", countEnv("RATE_LIMIT", pghttp.DefaultRateLimit), "requests per second each API key may send, unless its merchant has its own (merchant update --rate-limit); 0 for no limit (env PAYGATE_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", countEnv("RATE_BURST", 0), "requests an API key may send at once; default twice --rate-limit (env PAYGATE_RATE_BURST)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("SMTP_URL", ""), "SMTP server for e-mail receipts and notices: smtp://user:password@host:port?tls=starttls|implicit|none (default starttls); without it mail is kept, readable through GET /v1/mail (env PAYGATE_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", env("MAIL_FROM", ""), "sender address of e-mail receipts, such as \"Receipts <receipts@pay.example.com>\"; a customer's receipt shows the merchant's name with it (env PAYGATE_MAIL_FROM)")
	fs.IntVar(&c.GCPercent, "gc-percent", countEnv("GC_PERCENT", defaultGCPercent), "garbage collector target: the heap grows to (1 + N/100) times what is live before a collection; 0 for Go's default (100); the GOGC variable, when set, wins (env PAYGATE_GC_PERCENT)")
	acquirerFlags(fs, &c.Acquirer)
	return func() error {
		if len(badEnv) > 0 {
			return errors.New(strings.Join(badEnv, "; "))
		}
		c.Pool.NoMigrate = !*migrate
		switch {
		case c.NetworkTimeout <= 0:
			return errors.New("--network-timeout must be positive")
		case c.SweepInterval <= 0:
			return errors.New("--sweep-interval must be positive")
		case c.InDoubtAfter < 0:
			return errors.New("--in-doubt-after must not be negative")
		case c.MaxConns <= 0:
			return errors.New("--max-conns must be positive")
		case c.RateLimit < 0 || c.RateBurst < 0:
			return errors.New("--rate-limit and --rate-burst must not be negative")
		case c.GCPercent < 0:
			return errors.New("--gc-percent must not be negative (0 for Go's default)")
		case c.TRLifetime <= 0 || c.TRLifetime > paygate.MaxTRLifetime:
			return fmt.Errorf("--tr-lifetime must be positive and at most %s", paygate.MaxTRLifetime)
		}
		if c.PublicURL != "" {
			c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
			if paygate.URLOrigin(c.PublicURL) == "" && !strings.HasPrefix(c.PublicURL, "http://") {
				return fmt.Errorf("--public-url %q: want an http(s) URL such as https://pay.example.com", c.PublicURL)
			}
		}
		if c.SMTPURL != "" {
			if _, err := mailer(*c); err != nil {
				return fmt.Errorf("--smtp-url: %w", err)
			}
		}
		c.DB = *db
		if c.KeyFile == "" {
			c.KeyFile = defaultKeyFile(c.DB)
		}
		return nil
	}
}

// mailer is the SMTP sender c configures.
func mailer(c serveConfig) (*smtp.Sender, error) {
	return smtp.New(smtp.Config{URL: c.SMTPURL, From: c.MailFrom})
}

func intEnv(name string, def int) int {
	if v := env(name, ""); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			return n
		}
		badEnv = append(badEnv, fmt.Sprintf("PAYGATE_%s=%q is not a positive integer", name, v))
	}
	return def
}

// countEnv is intEnv that also takes 0.
func countEnv(name string, def int) int {
	if v := env(name, ""); v == "0" {
		return 0
	}
	return intEnv(name, def)
}

// badEnv lists environment variables whose values could not be read; serve
// refuses to start with any.
var badEnv []string

func durationEnv(name string, def time.Duration) time.Duration {
	if v := env(name, ""); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil && d > 0 {
			return d
		}
		badEnv = append(badEnv, fmt.Sprintf("PAYGATE_%s=%q is not a positive duration such as 10s", name, v))
	}
	return def
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func serve(ctx context.Context, c serveConfig, stdout io.Writer, logger *slog.Logger) error {
	defer tuneGC(c.GCPercent)()
	gw, err := startGateway(ctx, c, logger)
	if err != nil {
		return err
	}
	// Only once the address is ours: a failed start must not spend the
	// one showing of the demo keys.
	if err := ensureDemoMerchant(ctx, gw.stores, stdout); err != nil {
		gw.Close()
		return err
	}
	if c.AllowPrivateTargets {
		logger.Warn("ALLOW PRIVATE TARGETS IS ON: the gateway will connect to loopback and private addresses for merchants. " +
			"This is for development only; never run a production gateway with --allow-private-targets.")
	}
	logger.Info("paygate listening", "url", gw.node.URL(), "db", c.DB)
	fmt.Fprintf(stdout, "paygate listening on %s\n", gw.node.URL())
	<-ctx.Done()
	logger.Info("shutting down")
	return gw.Close()
}

// gateway is a node serving on its open database.
type gateway struct {
	node   *node.Node
	stores *paygate.Stores
}

// Close stops the node, then closes the database; it returns the node's
// error.
func (g *gateway) Close() error {
	err := g.node.Close()
	g.stores.Close()
	return err
}

// startGateway starts a node as c says: serve's wiring, which demo-shop
// shares. It checks the settings and binds the address before anything
// is created, so that a start that fails early leaves no database or key
// file behind.
func startGateway(ctx context.Context, c serveConfig, logger *slog.Logger) (*gateway, error) {
	// Check the TLS settings before anything is created: a failed start
	// must not make the demo merchant (and print its keys) or the key file.
	tlsConf, err := tlsConfig(c)
	if err != nil {
		return nil, err
	}
	if err := c.Acquirer.Check(); err != nil {
		return nil, err
	}
	if c.AdminAddr != "" {
		if err := metrics.CheckAddr(c.AdminAddr, c.Addr); err != nil {
			return nil, err
		}
	}
	// Bind before anything is created: a start that cannot have its
	// address must leave no database or key file behind.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	ok := false
	defer func() {
		if !ok {
			ln.Close() // the server never took it
		}
	}()
	st, err := openStores(ctx, c.DB, c.Pool)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	master, note, err := masterKey(c.KeyFile)
	if err != nil {
		return nil, err
	}
	if note != "" {
		logger.Warn(note)
	}
	var send paygate.MailSender
	if c.SMTPURL != "" {
		s, err := mailer(c)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		logger.Info("e-mail receipts go through " + s.String())
		send = s
	} else {
		logger.Info("no --smtp-url: e-mail receipts are kept, readable through GET /v1/mail")
	}
	n, err := node.New(ctx, node.Config{
		Stores:         *st,
		Mailer:         send,
		MasterKey:      master,
		Addr:           c.Addr,
		AdminAddr:      c.AdminAddr,
		Listener:       ln,
		TLSConfig:      tlsConf,
		NetworkTimeout: c.NetworkTimeout,
		InDoubtAfter:   c.InDoubtAfter,
		SweepInterval:  c.SweepInterval,
		MaxConns:       c.MaxConns,
		RateLimit:      c.RateLimit,
		RateBurst:      c.RateBurst,
		Acquirer:       c.Acquirer,

		PublicURL:           c.PublicURL,
		SessionLifetime:     c.SessionLifetime,
		TRLifetime:          c.TRLifetime,
		AllowPrivateTargets: c.AllowPrivateTargets,
		Ready:               []pghttp.ReadyCheck{databaseCheck(st)},
		Logger:              logger,
	})
	if err != nil {
		return nil, err
	}
	if err := n.Open(); err != nil {
		n.Close()
		return nil, err
	}
	ok = true
	return &gateway{node: n, stores: st}, nil
}

// ensureDemoMerchant creates a demo merchant on first start and prints its
// secret key once.
func ensureDemoMerchant(ctx context.Context, st *paygate.Stores, stdout io.Writer) error {
	list, err := st.Merchants.Merchants(ctx)
	if err != nil {
		return err
	}
	if len(list) > 0 {
		return nil
	}
	m, err := paygate.NewMerchant("Demo Store", "demo@example.com", time.Now().UTC())
	if err != nil {
		return err
	}
	// One id for the demo merchant: of several nodes starting together on an
	// empty database, one creates it and the others find it taken.
	m.ID = "acct_demo"
	secret, err := newMerchantWithKey(ctx, st, m)
	if err != nil {
		if list, lerr := st.Merchants.Merchants(ctx); lerr == nil && len(list) > 0 {
			return nil // another node made it
		}
		return err
	}
	fmt.Fprintf(stdout, "First start: created demo merchant %s.\n  secret key:      %s\nThe key is shown only this once; store it now.\n", m.ID, secret)
	fmt.Fprintf(stdout, "The dashboard is at /dashboard/; make its first user (an admin) with:\n  paygate user create --merchant %s --email you@example.com\n", m.ID)
	return nil
}

func tlsConfig(c serveConfig) (*tls.Config, error) {
	switch {
	case c.TLSCert != "" || c.TLSKey != "":
		if c.TLSCert == "" || c.TLSKey == "" {
			return nil, errors.New("--tls-cert and --tls-key go together")
		}
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		return pghttp.TLSConfig(cert), nil
	case c.DevTLS:
		cert, err := selfSigned(c.Addr)
		if err != nil {
			return nil, err
		}
		return pghttp.TLSConfig(cert), nil
	}
	return nil, nil
}

// databaseCheck is the database's check of /readyz: it answers a cheap
// query. (The node adds the acquirer link's.)
func databaseCheck(st *paygate.Stores) pghttp.ReadyCheck {
	return pghttp.ReadyCheck{Name: "database", Check: func(ctx context.Context) (map[string]any, error) {
		_, err := st.Migrations(ctx)
		return map[string]any{"engine": st.Engine}, err
	}}
}

// selfSigned makes a throwaway certificate for localhost and the listen host.
func selfSigned(addr string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "paygate development"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if !strings.EqualFold(host, "localhost") {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("make self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
