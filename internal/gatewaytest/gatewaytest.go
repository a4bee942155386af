// Package gatewaytest runs a whole gateway for tests: SQLite in a temporary
// directory (or a fresh PostgreSQL schema), and on it a node wired by
// package node exactly as serve wires it — the vault, the simulated bank
// over the in-process ISO 8583 link (or a TCP link to a bank server), the
// HTTP server on 127.0.0.1:0 — on a clock the test can move. It belongs to
// no layer.
package gatewaytest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/client"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/internal/pgtest"
	"github.com/paygate/paygate/iso8583"
	"github.com/paygate/paygate/node"
	"github.com/paygate/paygate/postgres"
	"github.com/paygate/paygate/sqlite"
	"github.com/paygate/paygate/vault"
)

// Options tune a test gateway.
type Options struct {
	NetworkTimeout time.Duration // default 300 ms
	RequireAck     bool
	AckWindow      time.Duration
	Quiet          bool // log only warnings, and to nowhere (benchmarks)
	// IdempotencyLease is how long an in-flight key stays locked; default
	// 2×NetworkTimeout+1s.
	IdempotencyLease time.Duration
	// Acquirer wraps the link to the bank, e.g. to inject faults.
	Acquirer func(paygate.Acquirer) paygate.Acquirer
	// Setup, if set, adjusts the gateway (its settings, or its stores
	// wrapped to inject faults) before the server starts.
	Setup func(*paygate.Gateway)
	// Postgres, a DSN (see PostgresDSN), puts the gateway on PostgreSQL
	// instead of SQLite.
	Postgres string
	// KeyStore wraps the store of the vault's data keys, e.g. to hold
	// nodes at a point of their start.
	KeyStore func(paygate.KeyStore) paygate.KeyStore
	// Server, if set, adjusts the HTTP server before it opens (limits,
	// readiness checks, TLS).
	Server func(*pghttp.Server)
	// TCP, with an Addr, reaches a bank server over a TCP link instead of
	// the bank in process (Gateway.Bank is then nil).
	TCP node.AcquirerConfig
	// SweepInterval runs the node's sweeper, as serve does; 0 runs none
	// (tests call Recover and the like themselves, after moving Clock).
	SweepInterval time.Duration
	// TRLifetime is how long a transparent redirect form is accepted
	// (0: paygate.DefaultTRLifetime).
	TRLifetime time.Duration
	// AdminAddr serves the node's metrics and profiles there (as serve
	// --admin-addr): "127.0.0.1:0" for a free port.
	AdminAddr string
}

// Gateway is a running test gateway.
type Gateway struct {
	Dir         string
	DBPath      string
	Postgres    string // the DSN, when on PostgreSQL
	Payments    paygate.PaymentStore
	Merchants   paygate.MerchantStore
	Idempotency paygate.IdempotencyStore
	Jobs        paygate.JobStore
	Users       paygate.UserStore
	Audit       paygate.AuditStore
	SQLite      *sqlite.DB // nil on PostgreSQL
	Vault       *vault.Vault
	closeDB     func()
	Node        *node.Node
	Gateway     *paygate.Gateway
	Bank        *bank.Bank       // nil over TCP
	Link        *iso8583.TCPLink // over TCP
	Server      *pghttp.Server
	Merchant    *paygate.Merchant
	SecretKey   string
	Logs        *SyncBuffer
	MasterKey   []byte

	// Clock is the time of the gateway, its server and its idempotency
	// leases: the wall clock until the test advances it. Reopened nodes
	// share it.
	Clock *Clock
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// MustOpen starts a gateway with one merchant and its secret key; everything is
// closed when the test ends.
func MustOpen(tb testing.TB, o Options) *Gateway {
	tb.Helper()
	if o.NetworkTimeout == 0 {
		o.NetworkTimeout = 300 * time.Millisecond
	}
	g := &Gateway{Dir: tb.TempDir(), Logs: &SyncBuffer{}, Clock: &Clock{}}
	g.DBPath = filepath.Join(g.Dir, "paygate.db")
	g.MasterKey = bytes.Repeat([]byte{7}, 32)
	var w io.Writer = g.Logs
	level := slog.LevelDebug
	if o.Quiet {
		w, level = io.Discard, slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	if o.TCP.Addr == "" {
		g.Bank = bank.New(logger.With("component", "bank"))
	}
	g.open(tb, o, logger)
	g.mustCreateMerchant(tb, o)
	return g
}

// MustOpenNodes starts n gateways at once on one fresh database (o.Postgres,
// or a new SQLite file), as nodes started together, and then makes one
// merchant that all of them serve.
func MustOpenNodes(tb testing.TB, n int, o Options) []*Gateway {
	tb.Helper()
	if o.NetworkTimeout == 0 {
		o.NetworkTimeout = 300 * time.Millisecond
	}
	first := &Gateway{Dir: tb.TempDir(), Logs: &SyncBuffer{}, MasterKey: bytes.Repeat([]byte{7}, 32), Clock: &Clock{}}
	first.DBPath = filepath.Join(first.Dir, "paygate.db")
	logger := slog.New(slog.NewTextHandler(first.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	first.Bank = bank.New(logger.With("component", "bank"))
	nodes := make([]*Gateway, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range nodes {
		nodes[i] = &Gateway{Dir: first.Dir, DBPath: first.DBPath, Bank: first.Bank, Logs: first.Logs, MasterKey: first.MasterKey, Clock: first.Clock}
		wg.Go(func() { errs[i] = nodes[i].openErr(tb, o, logger) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
	}
	nodes[0].mustCreateMerchant(tb, o)
	for _, n := range nodes[1:] {
		n.Merchant, n.SecretKey = nodes[0].Merchant, nodes[0].SecretKey
	}
	return nodes
}

// mustCreateMerchant makes the test merchant and its keys.
func (g *Gateway) mustCreateMerchant(tb testing.TB, o Options) {
	tb.Helper()
	ctx := context.Background()
	m, err := paygate.NewMerchant("Test Store", "store@example.com", time.Now().UTC())
	if err != nil {
		tb.Fatal(err)
	}
	m.RequireAck, m.AckWindow = o.RequireAck, o.AckWindow
	if err := g.Merchants.CreateMerchant(ctx, m); err != nil {
		tb.Fatal(err)
	}
	g.Merchant = m
	g.SecretKey = g.MustCreateKey(tb, m.ID, paygate.KeySecret)
}

// open wires the stores, vault, gateway and server on g.DBPath (or on
// PostgreSQL).
func (g *Gateway) open(tb testing.TB, o Options, logger *slog.Logger) {
	tb.Helper()
	if err := g.openErr(tb, o, logger); err != nil {
		tb.Fatal(err)
	}
}

// openErr is open for any goroutine: it reports what failed.
func (g *Gateway) openErr(tb testing.TB, o Options, logger *slog.Logger) error {
	var st paygate.Stores
	if g.Postgres = o.Postgres; g.Postgres != "" {
		db, err := postgres.Open(context.Background(), g.Postgres, postgres.Options{MaxConns: 8, Writers: 2})
		if err != nil {
			return err
		}
		st = db.Stores()
	} else {
		db, err := sqlite.Open(g.DBPath)
		if err != nil {
			return err
		}
		g.SQLite, st = db, db.Stores()
	}
	g.closeDB = func() { st.Close() }
	g.Payments, g.Merchants, g.Idempotency, g.Jobs = st.Payments, st.Merchants, st.Idempotency, st.Jobs
	g.Users, g.Audit = st.Users, st.Audit
	cards, seqs := st.Cards, st.Sequences
	tb.Cleanup(func() { g.Close() })
	keys := st.Keys
	if o.KeyStore != nil {
		keys = o.KeyStore(keys)
	}
	lease := 2*o.NetworkTimeout + time.Second
	if o.IdempotencyLease > 0 {
		lease = o.IdempotencyLease
	}
	n, err := node.New(context.Background(), node.Config{
		Stores: paygate.Stores{Merchants: g.Merchants, Payments: g.Payments, Cards: cards, Keys: keys,
			Idempotency: clockedIdempotency{g.Idempotency, g.Clock}, Sequences: seqs, Jobs: g.Jobs,
			Sessions: st.Sessions, Signing: st.Signing, Deliveries: st.Deliveries, Events: st.Events, Webhooks: st.Webhooks,
			AccessKeys: st.AccessKeys, Batches: st.Batches, Users: st.Users, DashSessions: st.DashSessions, Audit: st.Audit, Mail: st.Mail,
			Backlog: st.Backlog, Observe: st.Observe, Engine: st.Engine},
		// Merchants' sites in tests run on 127.0.0.1.
		AllowPrivateTargets: true,
		MasterKey:           g.MasterKey,
		Addr:                "127.0.0.1:0",
		AdminAddr:           o.AdminAddr,
		NetworkTimeout:      o.NetworkTimeout,
		SweepInterval:       o.SweepInterval,
		TRLifetime:          o.TRLifetime,
		IdempotencyLease:    lease,
		Acquirer:            o.TCP,
		Bank:                g.Bank,
		Ready: []pghttp.ReadyCheck{{Name: "database", Check: func(ctx context.Context) (map[string]any, error) {
			_, err := g.Merchants.Merchants(ctx)
			return nil, err
		}}},
		Logger: logger,
		Clock:  g.Clock,
	})
	if err != nil {
		return err
	}
	g.Node, g.Gateway, g.Server, g.Vault, g.Link = n, n.Gateway, n.Server, n.Vault, n.Link
	if o.Acquirer != nil {
		n.Gateway.Acquirer = o.Acquirer(n.Gateway.Acquirer)
	}
	if o.Setup != nil {
		o.Setup(n.Gateway)
	}
	if o.Server != nil {
		o.Server(n.Server)
	}
	return n.Open()
}

// Close stops the server, the gateway's background work and the database.
func (g *Gateway) Close() {
	if g.Node != nil {
		g.Node.Close()
	}
	g.CloseDB()
}

// CloseDB closes the database under the running server.
func (g *Gateway) CloseDB() {
	if g.closeDB != nil {
		g.closeDB()
		g.closeDB = nil
	}
}

// PostgresIfSet is PostgresDSN when PAYGATE_TEST_POSTGRES is set, and ""
// (SQLite) otherwise: for a test that runs on whichever engine the run
// tests, each time in a schema of its own (the test database outlives a
// run: the users, sign-in failures and audit rows of earlier runs must not
// meet this one's).
func PostgresIfSet(tb testing.TB) string {
	tb.Helper()
	if os.Getenv("PAYGATE_TEST_POSTGRES") == "" {
		return ""
	}
	return PostgresDSN(tb)
}

// PostgresDSN returns a DSN for a schema of its own in the PostgreSQL
// database named by PAYGATE_TEST_POSTGRES, migrated and empty (see
// pgtest.Migrated: a package that uses it calls pgtest.Main from TestMain);
// without that variable the test is skipped.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return pgtest.Migrated(tb)
}

// MustCreateKey makes an API key and returns its plaintext.
func (g *Gateway) MustCreateKey(tb testing.TB, merchantID, kind string) string {
	tb.Helper()
	plain, k := paygate.NewAPIKey(merchantID, kind, time.Now().UTC())
	if err := g.Merchants.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	return plain
}

// URL is the server's base URL.
func (g *Gateway) URL() string { return g.Server.URL() }

// Client returns an SDK client with the merchant's secret key and fast retries.
func (g *Gateway) Client(opts ...client.Option) *client.Client {
	opts = append([]client.Option{client.WithBackoff(10*time.Millisecond, 100*time.Millisecond)}, opts...)
	return client.New(g.URL(), g.SecretKey, opts...)
}

// Reopen starts a second gateway on the same database files, vault and bank
// while the first keeps running: a restarted process (the first one stands
// for the crashed process, frozen mid-request) or a second node.
func (g *Gateway) Reopen(tb testing.TB, o Options) *Gateway {
	tb.Helper()
	if o.NetworkTimeout == 0 {
		o.NetworkTimeout = 300 * time.Millisecond
	}
	if o.Postgres == "" {
		o.Postgres = g.Postgres
	}
	n := &Gateway{Dir: g.Dir, DBPath: g.DBPath, Bank: g.Bank, Logs: g.Logs, MasterKey: g.MasterKey,
		Merchant: g.Merchant, SecretKey: g.SecretKey, Clock: g.Clock}
	logger := slog.New(slog.NewTextHandler(g.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n.open(tb, o, logger)
	return n
}

// Engines runs fn on SQLite and, when PAYGATE_TEST_POSTGRES is set, on
// PostgreSQL, the two at once (each on a gateway of its own: fn must not
// share what it changes between them); fn passes pg as Options.Postgres
// ("" means SQLite).
func Engines(t *testing.T, fn func(t *testing.T, pg string)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, "") })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, PostgresDSN(t)) })
}

// MustCreateMerchant makes another merchant on g's database and returns
// its secret key.
func MustCreateMerchant(tb testing.TB, g *Gateway, name string) string {
	tb.Helper()
	m, err := paygate.NewMerchant(name, "", time.Now().UTC())
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Merchants.CreateMerchant(context.Background(), m); err != nil {
		tb.Fatal(err)
	}
	return g.MustCreateKey(tb, m.ID, paygate.KeySecret)
}
