// Package node is the one wiring of paygate: from a Config and the stores
// of an open database it builds a running gateway node — the vault, the
// acquirer (the simulated bank in process, or a TCP link to one run apart),
// the Gateway, the HTTP server and the background sweeper — and stops it
// in the right order. `paygate serve` uses it, and so do the test helpers
// (internal/gatewaytest), and so does `paygate bench`, so that what the tests run is
// what serve runs.
//
// Why a package of its own: the root package imports only the standard
// library, so it cannot wire its own adapters; cmd/paygate is a main
// package, which nothing can import; and internal/gatewaytest belongs to
// the tests. The wiring imports every adapter (bank, iso8583, vault, http)
// and is imported by nothing but the edges that start nodes. It takes the
// stores already open: opening a database (which engine, pools, migrations)
// stays with whoever reads the configuration, so that commands that only
// need a database do not pull in a server.
package node

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/iso8583"
	"github.com/paygate/paygate/metrics"
	"github.com/paygate/paygate/passwd"
	"github.com/paygate/paygate/vault"
	"github.com/paygate/paygate/web"
	"github.com/paygate/paygate/webhook"
)

// Config is everything a node needs besides its stores. Zero values take
// the defaults serve documents.
type Config struct {
	Stores paygate.Stores // only the stores are used: opening and closing the database is the caller's
	// MasterKey (32 bytes) opens the vault; the key of the idempotency
	// request hashes is derived from it.
	MasterKey []byte

	// Addr is the HTTP listen address, unless Listener is already bound.
	Addr      string
	Listener  net.Listener
	TLSConfig *tls.Config // nil: plain HTTP
	// PublicURL is the base URL customers' browsers reach the gateway on
	// ("": the address it listens on).
	PublicURL string

	// SessionLifetime is how long a hosted payment session waits to be
	// paid (0: paygate.DefaultSessionLifetime). AllowPrivateTargets lets
	// the gateway reach merchants' sites on loopback and private
	// addresses: for development only (the demo shop, tests).
	SessionLifetime     time.Duration
	AllowPrivateTargets bool
	// TRLifetime is how long a transparent redirect form is accepted
	// after its timestamp (0: paygate.DefaultTRLifetime).
	TRLifetime time.Duration

	// NetworkTimeout is the acquirer's answer timeout (default 10 s);
	// InDoubtAfter as paygate.Gateway has it.
	NetworkTimeout time.Duration
	InDoubtAfter   time.Duration
	// SweepInterval is how often the sweeper recovers work in doubt, voids
	// unacknowledged and expired authorizations and prunes idempotency
	// keys; 0 runs no sweeper (tests call Sweep themselves).
	SweepInterval time.Duration
	// IdempotencyLease is how long an in-flight Idempotency-Key stays
	// locked; default 2×NetworkTimeout+30s.
	IdempotencyLease time.Duration

	MaxConns  int // default pghttp.DefaultMaxConns
	RateLimit int // requests per second per API key; 0: none, unless a merchant has its own
	RateBurst int

	Acquirer AcquirerConfig
	// Bank is the simulated bank reached in process when Acquirer.Addr is
	// empty; nil makes a new one. Several nodes of a test share one.
	Bank *bank.Bank

	// Mailer sends the e-mail confirmations (package smtp); nil keeps
	// them, readable through GET /v1/mail and the dashboard's outbox.
	Mailer paygate.MailSender

	// Ready are the checks of /readyz besides the acquirer link's (which
	// the node adds): the database's.
	Ready []pghttp.ReadyCheck

	// AdminAddr, if set, serves the node's Prometheus metrics (/metrics)
	// and profiles (/debug/pprof/) on a listener of their own at this
	// host:port, which must not be the public one (Addr).
	AdminAddr string

	// Logger logs; the node wraps its handler with paygate.LogHandler, so
	// that a line logged with a request's context names the request.
	Logger *slog.Logger
	Clock  paygate.Clock // nil: the system clock
}

// Node is a gateway node, wired by New and started by Open. Between the
// two its parts may still be adjusted (tests wrap the acquirer or the
// stores, or set limits on the server).
type Node struct {
	Gateway *paygate.Gateway
	Server  *pghttp.Server
	// Dashboard is the merchant dashboard the server mounts on /dashboard/.
	Dashboard *web.Dashboard
	Vault     *vault.Vault
	Bank      *bank.Bank       // the bank in process; nil over TCP
	Link      *iso8583.TCPLink // the link to a bank run apart; nil in process
	// Metrics and Admin are the node's metrics and their listener; nil
	// without an AdminAddr.
	Metrics *metrics.Metrics
	Admin   *metrics.Admin

	interval time.Duration
	logger   *slog.Logger
	pruner   *paygate.IdempotencyPruner
	signIns  *paygate.SignInPruner // nil without a dashboard session store

	mu        sync.Mutex
	stop      context.CancelFunc // ends the sweeper
	sweeping  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New wires a node on c.Stores: it opens the vault and the acquirer (a
// link that cannot reach its bank yet does not fail: it says so in the log
// and keeps trying, so that the node serves, declining with 91, until the
// bank is back). Nothing is served before Open. Close releases what New
// opened, whether or not Open ran; the stores are the caller's to close.
func New(ctx context.Context, c Config) (*Node, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = slog.New(paygate.NewLogHandler(c.Logger.Handler()))
	if c.AdminAddr != "" {
		if err := metrics.CheckAddr(c.AdminAddr, c.Addr); err != nil {
			return nil, err
		}
	}
	if c.NetworkTimeout <= 0 {
		c.NetworkTimeout = 10 * time.Second
	}
	if err := c.Acquirer.Check(); err != nil {
		return nil, err
	}
	v, err := vault.Open(ctx, c.MasterKey, c.Stores.Keys)
	if err != nil {
		return nil, err
	}
	n := &Node{Vault: v, interval: c.SweepInterval, logger: c.Logger}
	var link iso8583.Link
	if c.Acquirer.Addr != "" {
		if n.Link, err = openAcquirer(ctx, c.Acquirer, c.Logger); err != nil {
			return nil, err
		}
		link = n.Link
	} else {
		n.Bank = c.Bank
		if n.Bank == nil {
			n.Bank = bank.New(c.Logger.With("component", "bank"))
		}
		link = iso8583.LinkFunc(n.Bank.Handle)
	}

	g := paygate.NewGateway()
	g.Merchants, g.Payments, g.Cards, g.Vault, g.Sequences = c.Stores.Merchants, c.Stores.Payments, c.Stores.Cards, v, c.Stores.Sequences
	g.Sessions, g.SigningSecrets, g.Deliveries = c.Stores.Sessions, c.Stores.Signing, c.Stores.Deliveries
	g.Events, g.Webhooks = c.Stores.Events, c.Stores.Webhooks
	g.SessionLifetime = c.SessionLifetime
	g.AccessKeys, g.TRLifetime = c.Stores.AccessKeys, c.TRLifetime
	g.Batches = c.Stores.Batches
	g.Mail, g.Mailer = c.Stores.Mail, c.Mailer
	g.Fetcher = &webhook.Client{AllowPrivate: c.AllowPrivateTargets}
	g.Poster = &webhook.Poster{AllowPrivate: c.AllowPrivateTargets}
	if !c.AllowPrivateTargets {
		g.CheckTarget = webhook.CheckHost
	}
	client := iso8583.NewClient(link, c.NetworkTimeout)
	g.Acquirer, g.Settler = client, client
	g.Logger = c.Logger
	g.NetworkTimeout, g.InDoubtAfter = c.NetworkTimeout, c.InDoubtAfter
	if c.Clock != nil {
		g.Clock = c.Clock
	}
	n.Gateway = g
	n.pruner = paygate.NewIdempotencyPruner(c.Stores.Idempotency, c.Stores.Jobs, paygate.NewHolder(), g.Clock)
	if c.Stores.DashSessions != nil {
		n.signIns = paygate.NewSignInPruner(c.Stores.DashSessions, c.Stores.Jobs, n.pruner.Job.Holder, g.Clock)
	}

	ready := append([]pghttp.ReadyCheck(nil), c.Ready...)
	if n.Link != nil {
		ready = append(ready, pghttp.LinkCheck(n.Link))
	}
	n.Server = &pghttp.Server{
		Addr:              c.Addr,
		PublicURL:         c.PublicURL,
		Listener:          c.Listener,
		Gateway:           g,
		Merchants:         c.Stores.Merchants,
		Idempotency:       c.Stores.Idempotency,
		Logger:            c.Logger,
		IdempotencySecret: derive(c.MasterKey, "paygate idempotency"),
		IdempotencyLease:  c.IdempotencyLease,
		TLSConfig:         c.TLSConfig,
		MaxConns:          c.MaxConns,
		RateLimit:         c.RateLimit,
		RateBurst:         c.RateBurst,
		Clock:             c.Clock,
		Ready:             ready,
		Audit:             c.Stores.Audit,
	}
	secure := c.TLSConfig != nil || strings.HasPrefix(c.PublicURL, "https://")
	n.Server.Pages = &web.Handler{Gateway: g, Logger: c.Logger, CSRFKey: derive(c.MasterKey, "paygate web csrf"), TLS: secure}
	n.Dashboard = &web.Dashboard{Gateway: g, Logger: c.Logger, CSRFKey: derive(c.MasterKey, "paygate dashboard csrf"), TLS: secure,
		Users: c.Stores.Users, Sessions: c.Stores.DashSessions, Audit: c.Stores.Audit, Passwords: passwd.Hasher{}, PublicURL: c.PublicURL,
		Idempotency: c.Stores.Idempotency}
	n.Server.Dashboard = n.Dashboard
	if n.Server.IdempotencyLease <= 0 {
		n.Server.IdempotencyLease = 2*c.NetworkTimeout + 30*time.Second
	}
	if c.RateLimit == 0 {
		n.Server.RateLimit = -1 // none, unless a merchant has its own
	}
	if c.AdminAddr != "" {
		inDoubt := c.InDoubtAfter
		if inDoubt <= 0 {
			inDoubt = 2*c.NetworkTimeout + 5*time.Second // as the Gateway's default
		}
		n.Metrics = metrics.New(metrics.Options{Backlog: c.Stores.Backlog, InDoubtAfter: inDoubt, Engine: c.Stores.Engine})
		g.Observer, n.Server.Observer = n.Metrics, n.Metrics
		if c.Stores.Observe != nil {
			c.Stores.Observe(n.Metrics)
		}
		n.Admin = &metrics.Admin{Addr: c.AdminAddr, Public: c.Addr, Metrics: n.Metrics, Logger: c.Logger.With("component", "admin")}
	}
	return n, nil
}

// Open starts serving (the address is bound when it returns) and, with a
// SweepInterval, the sweeper.
func (n *Node) Open() error {
	if err := n.Server.Open(); err != nil {
		return err
	}
	if n.Admin != nil {
		if err := n.Admin.Open(); err != nil {
			n.Server.Abort()
			return err
		}
		n.logger.Info("admin listener: metrics and profiles", "url", n.Admin.URL())
	}
	if n.interval > 0 {
		ctx, stop := context.WithCancel(context.Background())
		n.mu.Lock()
		n.stop = stop
		n.mu.Unlock()
		n.sweeping.Go(func() { n.sweep(ctx) })
		// Deliveries to merchants' sites and post-backs wait on those
		// sites (10 s, 15 s each): apart, so they never hold up reversals.
		n.sweeping.Go(func() { n.deliver(ctx) })
		// Mail waits on the SMTP server (MailTimeout each): apart too.
		n.sweeping.Go(func() { n.mail(ctx) })
	}
	return nil
}

// URL is the server's base URL.
func (n *Node) URL() string { return n.Server.URL() }

// Close stops the node in order: the sweeper is told to stop, the HTTP
// server drains, the reversals the requests handed to the background get
// one network timeout to finish (what is left stays in doubt in the
// database for recovery), the sweeper's round ends, and the link to the
// bank signs off. It returns the server's error; a second Close returns
// the first one's.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.StopSweeper()
		if n.Admin != nil {
			n.Admin.Close()
		}
		n.closeErr = n.Server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), n.Gateway.NetworkTimeout+time.Second)
		if err := n.Gateway.Shutdown(ctx); err != nil {
			n.logger.Warn("background reversals cut short, left for recovery", paygate.LogError, err)
		}
		cancel()
		n.sweeping.Wait()
		if n.Link != nil {
			n.Link.Close()
		}
	})
	return n.closeErr
}

// StopSweeper tells the sweeper to stop, without waiting for its round to
// end (Close waits). Tests use it, with Server.Abort, to kill a node.
func (n *Node) StopSweeper() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stop != nil {
		n.stop()
	}
}

// sweep runs Sweep every interval until ctx ends.
func (n *Node) sweep(ctx context.Context) {
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		n.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep does one round of the background work, logging what fails: recover
// network exchanges left in doubt, void approvals not acknowledged in
// time, expire stale authorizations, prune expired idempotency keys
// (claimed in the database: one node at a time does it).
func (n *Node) Sweep(ctx context.Context) {
	g, logger := n.Gateway, n.logger
	start := time.Now()
	if g.Observer != nil {
		defer func() { g.Observer.Sweep(time.Now(), time.Since(start)) }()
	}
	if _, err := g.Recover(ctx); err != nil && ctx.Err() == nil {
		logger.Error("recover in-doubt payments", paygate.LogError, err)
	}
	if _, err := g.ExpireUnacknowledged(ctx); err != nil && ctx.Err() == nil {
		logger.Error("void unacknowledged payments", paygate.LogError, err)
	}
	if _, err := g.RecoverSessions(ctx); err != nil && ctx.Err() == nil {
		logger.Error("recover payment sessions", paygate.LogError, err)
	}
	if _, err := g.ExpireAuthorizations(ctx); err != nil && ctx.Err() == nil {
		logger.Error("expire authorizations", paygate.LogError, err)
	}
	if g.Batches != nil && g.Settler != nil {
		if _, err := g.CloseDueBatches(ctx); err != nil && ctx.Err() == nil {
			logger.Error("close due batches", paygate.LogError, err)
		}
		if _, err := g.PayDeposits(ctx); err != nil && ctx.Err() == nil {
			logger.Error("pay deposits", paygate.LogError, err)
		}
	}
	if k, _, err := n.pruner.Prune(ctx); err != nil && ctx.Err() == nil {
		logger.Error("prune idempotency keys", paygate.LogError, err)
	} else if k > 0 {
		logger.Info("pruned idempotency keys", "count", k)
	}
	if n.signIns != nil {
		if k, _, err := n.signIns.Prune(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune dashboard sessions and sign-in failures", paygate.LogError, err)
		} else if k > 0 {
			logger.Info("pruned dashboard sessions and sign-in failures", "count", k)
		}
	}
}

// deliver retries the due deliveries to merchants' sites and posts the
// due post-backs, every interval (post-backs batch after batch while
// whole batches are due).
func (n *Node) deliver(ctx context.Context) {
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		if _, err := n.Gateway.RetryDeliveries(ctx); err != nil && ctx.Err() == nil {
			n.logger.Error("retry deliveries to merchants", paygate.LogError, err)
		}
		for ctx.Err() == nil {
			k, err := n.Gateway.DeliverWebhooks(ctx)
			if err != nil && ctx.Err() == nil {
				n.logger.Error("deliver post-backs", paygate.LogError, err)
			}
			if err != nil || k < paygate.WebhookBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mail sends the due e-mail every interval, batch after batch while whole
// batches are due (without a sender it is kept).
func (n *Node) mail(ctx context.Context) {
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			k, err := n.Gateway.SendMail(ctx)
			if err != nil && ctx.Err() == nil {
				n.logger.Error("send mail", paygate.LogError, err)
			}
			if err != nil || k < paygate.MailBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func derive(master []byte, purpose string) []byte {
	h := hmac.New(sha256.New, master)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}
