package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/node"
)

const bankHelp = `Usage: paygate bank [flags]

Runs the simulated acquirer and its issuers as a separate process: ISO 8583
(1987, ASCII) over TCP, each message framed by a 2-byte big-endian length,
optionally over TLS. Point the gateway at it with
"paygate serve --acquirer ADDR". Connections must sign on (0800, DE70 001)
before financial messages are processed; those sent before get 91.

The ledger (account balances, holds, postings, and every RRN each account
has seen, for duplicates, captures and reversals) is kept in a SQLite file
of its own, paygate-bank.db by default, so that it outlives a crash or a
restart of the bank or of the gateway: each change is on disk before its
answer is sent. The file and its test accounts are created on the first
run; later runs go on with the balances saved. --memory (or --db "")
keeps the ledger in memory only: it starts afresh on each run.
The test cards are listed in the documentation of package bank.

Flags (each also read from the PAYGATE_BANK_* variable named):
`

func runBank(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bank", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), bankHelp)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", env("BANK_ADDR", "127.0.0.1:8583"), "listen address (env PAYGATE_BANK_ADDR)")
	cert := fs.String("tls-cert", env("BANK_TLS_CERT", ""), "TLS certificate file; with --tls-key, the link runs over TLS (env PAYGATE_BANK_TLS_CERT)")
	key := fs.String("tls-key", env("BANK_TLS_KEY", ""), "TLS private key file (env PAYGATE_BANK_TLS_KEY)")
	down := fs.String("issuer-down", env("BANK_ISSUER_DOWN", bank.OfflineBIN), "comma-separated BIN prefixes whose issuer is down: the acquirer answers 91 for them; \"\" for none (env PAYGATE_BANK_ISSUER_DOWN)")
	delayDefault, delayErr := time.ParseDuration(env("BANK_DELAY", "0s"))
	delay := fs.Duration("delay", delayDefault, "hold every financial answer this long, to simulate a slow network (env PAYGATE_BANK_DELAY)")
	drop := fs.Bool("drop-answers", env("BANK_DROP_ANSWERS", "") == "true", "process every financial request but never answer it, to simulate answers lost on the way back (env PAYGATE_BANK_DROP_ANSWERS=true)")
	closeAfter := fs.Int("close-after", 0, "answer this many financial messages, then close the connection that brings the next one (once)")
	db := fs.String("db", env("BANK_DB", "paygate-bank.db"), "SQLite file of the ledger, created if missing; \"\" keeps it in memory (env PAYGATE_BANK_DB)")
	memory := fs.Bool("memory", env("BANK_MEMORY", "") == "true", "keep the ledger in memory only, ignoring --db: it starts afresh on each run (env PAYGATE_BANK_MEMORY=true)")
	level := fs.String("log-level", env("BANK_LOG_LEVEL", "info"), "debug, info, warn or error (env PAYGATE_BANK_LOG_LEVEL)")
	format := fs.String("log-format", env("BANK_LOG_FORMAT", "text"), "text or json (env PAYGATE_BANK_LOG_FORMAT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if delayErr != nil {
		return fmt.Errorf("PAYGATE_BANK_DELAY=%q is not a duration such as 200ms", env("BANK_DELAY", ""))
	}
	if *delay < 0 {
		return errors.New("--delay must not be negative")
	}
	if *closeAfter < 0 {
		return errors.New("--close-after must not be negative")
	}
	var prefixes []string
	for p := range strings.SplitSeq(*down, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if len(p) > 11 || strings.Trim(p, "0123456789") != "" {
			return fmt.Errorf("--issuer-down: %q is not a BIN prefix (1 to 11 digits)", p)
		}
		prefixes = append(prefixes, p)
	}
	var tlsConf *tls.Config
	if *cert != "" || *key != "" {
		if *cert == "" || *key == "" {
			return errors.New("--tls-cert and --tls-key go together")
		}
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}

	blog := logger.With("component", "bank")
	ledger := "memory"
	var b *bank.Bank
	if *memory || *db == "" {
		b = bank.New(blog)
	} else {
		if b, err = bank.Open(*db, blog); err != nil {
			return err
		}
		ledger = *db
	}
	defer b.Close()
	b.SetIssuerDown(bank.OfflineBIN, false)
	for _, p := range prefixes {
		b.SetIssuerDown(p, true)
	}
	s := &bank.Server{Addr: *addr, TLS: tlsConf, Bank: b, Logger: logger}
	s.SetFaults(bank.Faults{Delay: *delay, DropAnswers: *drop, CloseAfter: *closeAfter})
	if err := s.Open(); err != nil {
		return err
	}
	logger.Info("bank listening", "addr", s.ListenAddr(), "tls", tlsConf != nil, "issuers_down", strings.Join(prefixes, ","), "delay", *delay, "ledger", ledger)
	fmt.Fprintf(stdout, "bank listening on %s\n", s.ListenAddr())
	select {
	case <-ctx.Done():
		logger.Info("bank shutting down")
	case <-b.Done():
		// The ledger could not be written (logged by the bank): stop, so
		// that a restart goes on from what the file holds.
		err := b.Err()
		s.Close()
		return err
	}
	// The server first: it waits for the answers in progress, whose
	// changes the bank then writes before it closes the file.
	return errors.Join(s.Close(), b.Close())
}

// acquirerFlags adds serve's --acquirer flags.
func acquirerFlags(fs *flag.FlagSet, c *node.AcquirerConfig) {
	fs.StringVar(&c.Addr, "acquirer", env("ACQUIRER", ""), "host:port of the acquirer (paygate bank) to reach over TCP; default: the simulated bank in process (env PAYGATE_ACQUIRER)")
	fs.BoolVar(&c.TLS, "acquirer-tls", env("ACQUIRER_TLS", "") == "true", "reach the acquirer over TLS, verified against the system roots (env PAYGATE_ACQUIRER_TLS)")
	fs.StringVar(&c.CA, "acquirer-ca", env("ACQUIRER_CA", ""), "PEM file of the CA certificates that sign the acquirer's; implies --acquirer-tls (env PAYGATE_ACQUIRER_CA)")
	fs.IntVar(&c.Conns, "acquirer-conns", intEnv("ACQUIRER_CONNS", 2), "connections to the acquirer (env PAYGATE_ACQUIRER_CONNS)")
}
