package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/node"
)

// benchGateway is the gateway under test: a node as serve wires it (its
// defaults, but no rate limit), on a fresh database, with its own merchant.
type benchGateway struct {
	node      *node.Node
	stores    *paygate.Stores
	bank      *benchBank // over TCP: paygate bank, a process of its own
	dir       string
	dbPath    string // SQLite
	pgBase    string // PostgreSQL: the DSN given, and the fresh schema in it
	schema    string
	secret    string
	restoreGC func()
	// coldStart is the time from opening the fresh database to the first
	// approved sale's answer.
	coldStart time.Duration
}

// startBenchGateway starts the gateway o describes and makes one sale
// through its API, which must be approved.
func startBenchGateway(ctx context.Context, o benchOptions, logger *slog.Logger, stderr io.Writer) (_ *benchGateway, err error) {
	// As serve runs it, until it closes (the echo, in this process, then
	// runs with the same target; before it starts, with Go's default).
	g := &benchGateway{pgBase: o.postgres, restoreGC: tuneGC(defaultGCPercent)}
	if g.dir, err = os.MkdirTemp("", "paygate-bench-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	db := filepath.Join(g.dir, "paygate.db")
	if o.postgres != "" {
		if db, err = g.createSchema(ctx); err != nil {
			return nil, err
		}
	} else {
		g.dbPath = db
	}
	acq := node.AcquirerConfig{}
	if o.tcp {
		// As a user runs it: "paygate bank", a process of its own, its
		// ledger in a file.
		if g.bank, err = startBenchBank(ctx, g.dir, stderr); err != nil {
			return nil, err
		}
		acq = node.AcquirerConfig{Addr: g.bank.addr, Conns: 2}
	}

	start := time.Now()
	if g.stores, err = openStores(ctx, db, poolConfig{MaxConns: 16, MinConns: 2, Writers: 2}); err != nil {
		return nil, err
	}
	master := make([]byte, 32)
	rand.Read(master)
	g.node, err = node.New(ctx, node.Config{
		Stores: *g.stores, MasterKey: master, Addr: "127.0.0.1:0",
		NetworkTimeout: 10 * time.Second, SweepInterval: time.Second, Acquirer: acq,
		Ready: []pghttp.ReadyCheck{databaseCheck(g.stores)}, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	if err := g.node.Open(); err != nil {
		return nil, err
	}
	m, err := paygate.NewMerchant("Bench Store", "bench@example.com", time.Now().UTC())
	if err != nil {
		return nil, err
	}
	if g.secret, err = newMerchantWithKey(ctx, g.stores, m); err != nil {
		return nil, err
	}
	if err := firstSale(ctx, g.URL(), g.secret, o.keys); err != nil {
		return nil, err
	}
	g.coldStart = time.Since(start)
	return g, nil
}

// URL is where sales are posted.
func (g *benchGateway) URL() string { return g.node.URL() + "/v1/payments" }

// firstSale posts one sale and checks that it was approved and captured.
func firstSale(ctx context.Context, url, secret string, withKey bool) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(saleBody()))
	if err != nil {
		return err
	}
	req.Header = saleHeader(secret)
	if withKey {
		req.Header.Set("Idempotency-Key", "bench-first")
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("first sale: %w", err)
	}
	defer resp.Body.Close()
	var p struct{ Status string }
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &p)
	if resp.StatusCode != 200 || p.Status != "captured" {
		return fmt.Errorf("first sale not approved: HTTP %d, status %q", resp.StatusCode, p.Status)
	}
	return nil
}

// storage is what the database holds: its files (SQLite: the database
// and its WAL) or its tables and indexes (PostgreSQL), and the server's WAL
// position (PostgreSQL only; -1 on SQLite).
func (g *benchGateway) storage(ctx context.Context) (size, walPos int64, err error) {
	if g.dbPath != "" {
		for _, p := range []string{g.dbPath, g.dbPath + "-wal"} {
			fi, err := os.Stat(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, 0, err
			}
			if err == nil {
				size += fi.Size()
			}
		}
		return size, -1, nil
	}
	c, err := pgx.Connect(ctx, g.pgBase)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close(ctx)
	err = c.QueryRow(ctx, `SELECT (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'),
		(pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`, g.schema).Scan(&size, &walPos)
	return size, walPos, err
}

// createSchema makes a fresh schema in the PostgreSQL database and returns
// the DSN that uses it.
func (g *benchGateway) createSchema(ctx context.Context) (string, error) {
	c, err := pgx.Connect(ctx, g.pgBase)
	if err != nil {
		return "", fmt.Errorf("connect to --postgres: %w", err)
	}
	defer c.Close(ctx)
	schema := "paygate_bench_" + strings.ToLower(paygate.RandomToken(10))
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	g.schema = schema
	sep := "?"
	if strings.Contains(g.pgBase, "?") {
		sep = "&"
	}
	return g.pgBase + sep + "search_path=" + schema, nil
}

// Close stops the node and the bank, closes the database and removes it
// (the temporary directory, or the schema).
func (g *benchGateway) Close() error {
	defer g.restoreGC()
	var errs []error
	if g.node != nil {
		errs = append(errs, g.node.Close())
	}
	if g.stores != nil {
		g.stores.Close()
	}
	if g.bank != nil {
		errs = append(errs, g.bank.Close())
	}
	if g.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, g.pgBase); err == nil {
			_, err = c.Exec(ctx, "DROP SCHEMA "+g.schema+" CASCADE")
			errs = append(errs, err)
			c.Close(ctx)
		} else {
			errs = append(errs, err)
		}
	}
	errs = append(errs, os.RemoveAll(g.dir))
	return errors.Join(errs...)
}
