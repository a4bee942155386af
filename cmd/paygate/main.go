// Command paygate is the payment gateway: one binary, one subcommand per
// file (serve, bank, merchant, key, migrate, settle, demo-shop, bench). Flags and
// PAYGATE_* environment variables are read here only and passed down as
// plain values.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway (HTTP API, simulated card network)", runServe},
		{"bank", "run the simulated acquirer and issuers on a TCP port (ISO 8583)", runBank},
		{"merchant", "create and list merchants", runMerchant},
		{"key", "create, list and revoke API keys", runKey},
		{"user", "create and list dashboard users (prints a set-password link)", runUser},
		{"migrate", "apply database migrations", runMigrate},
		{"settle", "close a merchant's batch (end of day cut-off)", runSettle},
		{"demo-shop", "run a demo merchant site that shows every way to take a card", runDemoShop},
		{"bench", "measure the sale path against a bare HTTP echo (requests/s, latency, CPU, RSS)", runBench},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage means the command line was wrong; the usage has been printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				return 2
			}
			fmt.Fprintf(stderr, "paygate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "paygate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "paygate is a self-hosted payment gateway.\n\nUsage:\n  paygate <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'paygate <command> -h' for a command's flags.")
}

// env returns the PAYGATE_ environment variable name, or def if unset.
func env(name, def string) string {
	if v := os.Getenv("PAYGATE_" + name); v != "" {
		return v
	}
	return def
}

// dbFlag adds the --db flag shared by every command.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", env("DB", "paygate.db"), "database: a SQLite file (or sqlite:path), or a postgres://user@host/dbname URL (env PAYGATE_DB)")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("paygate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args. The flag package has already printed a bad
// command line's error and the flags, so such an error is errUsage (status
// 2, not printed again).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return err
}
