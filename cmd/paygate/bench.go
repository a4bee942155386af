package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/loadgen"
)

const benchHelp = `Usage: paygate bench [flags]

Measures the gateway's sale path against a bare net/http JSON echo, in one
run on this machine: it starts the echo, drives it for --duration at
--concurrency (closed loop: each connection sends its next request when the
answer to the last arrives), then starts a gateway on a fresh database
(SQLite, every write synced before it is answered, in a temporary
directory; or a fresh schema in --postgres) with the simulated bank in
process (or, with --acquirer tcp, "paygate bank" started as a process of
its own, its ledger in a file, over TCP on 127.0.0.1), and drives its
POST /v1/payments the same way with approved sales. It prints a line per
second while it runs, then requests/s, p50/p90/p99 latency, the ratio
gateway/echo, bytes written per sale, peak RSS, server CPU per sale (and
the bank's, over TCP) and the cold start to the first approved sale. The
gateway runs as serve runs it (10 s network timeout, 1 s sweeper) but
without a rate limit.

The load comes from a second paygate process (--client process, the
default), so that CPU and RSS are the server's alone; --client in-process
runs it in this process instead (CPU and RSS then include it).

--rounds N drives the echo and the gateway in turns, N times each, so
that both meet the same moments of a busy machine, and reports the turns
of each together (their requests over their time, the percentiles of all
their answers), with the ratio of each round beside the whole run's.

--rate N drives both the echo and the gateway at N requests per second
(open loop: latency counts from when each request was due) after the peak
runs and reports both p99s; --rate half uses half the gateway's peak.

--target URL drives a gateway already running (POST URL/v1/payments) with
the secret key in PAYGATE_BENCH_SECRET, and prints only what the load
measured.

Flags:
`

type benchOptions struct {
	duration    time.Duration
	concurrency int
	postgres    string
	tcp         bool
	keys        bool
	rate        string
	json        bool
	target      string
	client      string
	label       string
	rounds      int
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchHelp)
		fs.PrintDefaults()
	}
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to drive each of the echo and the gateway")
	fs.IntVar(&o.concurrency, "concurrency", 64, "connections sending at once (closed loop); with --rate, 4× this many requests may be in flight")
	fs.StringVar(&o.postgres, "postgres", env("BENCH_POSTGRES", ""), "PostgreSQL DSN: run the gateway in a fresh schema there (dropped after) instead of SQLite (env PAYGATE_BENCH_POSTGRES)")
	acquirer := fs.String("acquirer", "in-process", "in-process (the simulated bank in this process) or tcp (paygate bank on 127.0.0.1, ISO 8583 over TCP)")
	fs.BoolVar(&o.keys, "idempotency-keys", true, "send every sale with its own Idempotency-Key")
	fs.StringVar(&o.rate, "rate", "", "after the peak runs, drive both at this many requests per second (open loop) and report p99; \"half\": half the gateway's peak")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON (progress goes to stderr)")
	fs.StringVar(&o.target, "target", "", "base URL of a running gateway to drive instead (secret key in PAYGATE_BENCH_SECRET)")
	fs.StringVar(&o.client, "client", "process", "where the load comes from: process (a second paygate process) or in-process")
	fs.StringVar(&o.label, "label", "target", "name of the load in progress lines (with --target)")
	fs.IntVar(&o.rounds, "rounds", 1, "drive the echo and the gateway in turns, this many times each (--duration a turn), and report them together, with the ratio of each round")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.duration <= 0:
		return errors.New("--duration must be positive")
	case o.concurrency <= 0:
		return errors.New("--concurrency must be positive")
	case o.rounds <= 0:
		return errors.New("--rounds must be positive")
	case *acquirer != "in-process" && *acquirer != "tcp":
		return fmt.Errorf("--acquirer %q: want in-process or tcp", *acquirer)
	case o.client != "process" && o.client != "in-process":
		return fmt.Errorf("--client %q: want process or in-process", o.client)
	}
	o.tcp = *acquirer == "tcp"
	if o.rate != "" && o.rate != "half" {
		if r, err := strconv.ParseFloat(o.rate, 64); err != nil || r <= 0 {
			return fmt.Errorf("--rate %q: want a positive number of requests per second, or half", o.rate)
		}
	}
	progress := stdout
	if o.json {
		progress = stderr
	}
	if o.target != "" {
		if o.rounds != 1 {
			return errors.New("--rounds alternates the echo and the gateway bench starts: it does not go with --target")
		}
		return benchTarget(ctx, o, stdout, progress)
	}
	if o.postgres != "" && !isPostgres(o.postgres) {
		return fmt.Errorf("--postgres %q: want a postgres:// URL", o.postgres)
	}
	rep, err := bench(ctx, o, progress, stderr)
	if rep != nil {
		if o.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
		} else {
			rep.print(stdout)
		}
	}
	return err
}

// benchTarget drives a running gateway (or, for bench itself, the echo or
// the gateway it started) and prints what the load measured.
func benchTarget(ctx context.Context, o benchOptions, stdout, progress io.Writer) error {
	rate := 0.0
	if o.rate != "" {
		if o.rate == "half" {
			return errors.New("--rate half needs the peak runs: give a number with --target")
		}
		rate, _ = strconv.ParseFloat(o.rate, 64)
	}
	c := loadConfig(o, strings.TrimSuffix(o.target, "/"), os.Getenv("PAYGATE_BENCH_SECRET"), rate)
	c.Progress = progressLine(progress, o.label)
	r, err := loadgen.Run(ctx, c)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%-8s %s\n", o.label, r)
	if r.FirstError != "" {
		fmt.Fprintf(stdout, "first failure: %s\n", r.FirstError)
	}
	return nil
}

// saleBody is an approved sale (the expiry a few years ahead).
func saleBody() []byte {
	return fmt.Appendf(nil, `{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":%d,"cvc":"123"},"order_id":"bench"}`,
		time.Now().Year()+3)
}

func saleHeader(secret string) http.Header {
	return http.Header{"Authorization": {"Bearer " + secret}, "Content-Type": {"application/json"}}
}

// loadConfig is the load on base (POST base/v1/payments) at rate (0: closed
// loop).
func loadConfig(o benchOptions, base, secret string, rate float64) loadgen.Config {
	c := loadgen.Config{URL: base + "/v1/payments", Body: saleBody(), Header: saleHeader(secret),
		Concurrency: o.concurrency, Duration: o.duration, Rate: rate}
	if rate > 0 {
		c.Concurrency = max(4*o.concurrency, 64)
	}
	if o.keys {
		c.KeyPrefix = "bench-" + paygate.RandomToken(8) + "-"
	}
	return c
}

// progressLine prints a line a second: elapsed, requests so far, and the
// rate over the last second.
func progressLine(w io.Writer, label string) func(time.Duration, int64) {
	var last int64
	var lastAt time.Duration
	return func(elapsed time.Duration, n int64) {
		rate := float64(n-last) / (elapsed - lastAt).Seconds()
		last, lastAt = n, elapsed
		fmt.Fprintf(w, "%-8s %4.0fs %10d requests %9.0f req/s\n", label, elapsed.Seconds(), n, rate)
	}
}

// load drives base as o says, from a second process or from this one.
func load(ctx context.Context, o benchOptions, label, base, secret string, rate float64, progress io.Writer) (*loadgen.Result, error) {
	if o.client == "in-process" {
		c := loadConfig(o, base, secret, rate)
		c.Progress = progressLine(progress, label)
		return loadgen.Run(ctx, c)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the paygate binary for the load: %w (try --client in-process)", err)
	}
	args := []string{"bench", "--target", base, "--label", label, "--json", "--duration", o.duration.String(),
		"--concurrency", strconv.Itoa(o.concurrency), "--idempotency-keys=" + strconv.FormatBool(o.keys)}
	if rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(rate, 'f', 1, 64))
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "PAYGATE_BENCH_SECRET="+secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("load generator: %w", err)
	}
	var r loadgen.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("load generator's result: %w", err)
	}
	return &r, nil
}

// startEcho serves a bare JSON echo on 127.0.0.1: decode the body, encode
// it back. It returns its base URL and its stop.
func startEcho() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// bench runs the echo, then the gateway, as o says. It returns the report
// of what it measured, also with an error when sales failed.
func bench(ctx context.Context, o benchOptions, progress, stderr io.Writer) (*benchReport, error) {
	rep := &benchReport{Engine: "sqlite", Acquirer: "in-process", IdempotencyKeys: o.keys, Concurrency: o.concurrency,
		DurationS: o.duration.Seconds(), Rounds: o.rounds, Client: o.client, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if o.postgres != "" {
		rep.Engine = "postgres"
	}
	if o.tcp {
		rep.Acquirer = "tcp"
	}
	fmt.Fprintln(progress, rep.title())
	echo, stopEcho, err := startEcho()
	if err != nil {
		return nil, err
	}
	defer stopEcho()
	// The echo's turns and the gateway's alternate, on a fresh database.
	// In one round the gateway starts after the echo's turn, which so runs
	// alone; in several it starts first, so that every echo turn runs
	// beside it (and with its collector's target) alike.
	var (
		g                       *benchGateway
		echoes, gateways        []*loadgen.Result
		echoCPU, spent, bankCPU time.Duration
		size0, wal0             int64
	)
	defer func() {
		if g != nil {
			g.Close()
		}
	}()
	start := func() error {
		logger, _ := newLogger(stderr, "warn", "text")
		resetPeakRSS()
		var err error
		if g, err = startBenchGateway(ctx, o, logger, stderr); err != nil {
			return err
		}
		rep.ColdStartMs = float64(g.coldStart.Microseconds()) / 1000
		fmt.Fprintf(progress, "gateway cold start: %.0f ms to the first approved sale\n", rep.ColdStartMs)
		size0, wal0, err = g.storage(ctx)
		return err
	}
	if o.rounds > 1 {
		if err := start(); err != nil {
			return nil, err
		}
	}
	for round := 1; round <= o.rounds; round++ {
		label := func(name string) string {
			if o.rounds == 1 {
				return name
			}
			return fmt.Sprintf("%s %d/%d", name, round, o.rounds)
		}
		cpu := cpuTime()
		r, err := load(ctx, o, label("echo"), echo, "", 0, progress)
		if err != nil {
			return nil, err
		}
		echoCPU += cpuTime() - cpu
		echoes = append(echoes, r)
		if g == nil {
			if err := start(); err != nil {
				return nil, err
			}
		}
		cpu = cpuTime()
		var bank0 time.Duration
		if g.bank != nil {
			bank0 = procCPUTime(g.bank.pid())
		}
		if r, err = load(ctx, o, label("gateway"), strings.TrimSuffix(g.URL(), "/v1/payments"), g.secret, 0, progress); err != nil {
			return nil, err
		}
		spent += cpuTime() - cpu
		if g.bank != nil {
			bankCPU += procCPUTime(g.bank.pid()) - bank0
		}
		gateways = append(gateways, r)
		if o.rounds > 1 {
			ratio := 0.0 // an echo that answered nothing failed: reported below
			if echoes[round-1].PerSec > 0 {
				ratio = r.PerSec / echoes[round-1].PerSec
			}
			rep.RoundRatios = append(rep.RoundRatios, ratio)
			fmt.Fprintf(progress, "round %d/%d: ratio %.3f\n", round, o.rounds, ratio)
		}
	}
	if rep.Echo, err = loadgen.Merge(echoes...); err != nil {
		return nil, err
	}
	if rep.Gateway, err = loadgen.Merge(gateways...); err != nil {
		return nil, err
	}
	if rep.Echo.Requests > 0 {
		rep.EchoCPUPerRequestUs = float64(echoCPU.Microseconds()) / float64(rep.Echo.Requests)
	}
	size1, wal1, err := g.storage(ctx)
	if err != nil {
		return nil, err
	}
	rep.PeakRSS = peakRSS()
	rep.Sales = rep.Gateway.OK
	if rep.Echo.PerSec > 0 {
		rep.Ratio = rep.Gateway.PerSec / rep.Echo.PerSec
	}
	if rep.Sales > 0 {
		rep.BytesPerSale = float64(size1-size0) / float64(rep.Sales)
		if wal0 >= 0 {
			rep.WALBytesPerSale = float64(wal1-wal0) / float64(rep.Sales)
		}
		rep.CPUPerSaleUs = float64(spent.Microseconds()) / float64(rep.Sales)
		rep.BankCPUPerSaleUs = float64(bankCPU.Microseconds()) / float64(rep.Sales)
	}

	if o.rate != "" {
		rate := rep.Gateway.PerSec / 2
		if o.rate != "half" {
			rate, _ = strconv.ParseFloat(o.rate, 64)
		}
		rr := &rateReport{PerSec: rate}
		rep.Rate = rr
		fmt.Fprintf(progress, "open loop at %.0f req/s\n", rate)
		if rr.Echo, err = load(ctx, o, "echo", echo, "", rate, progress); err != nil {
			return rep, err
		}
		if rr.Gateway, err = load(ctx, o, "gateway", strings.TrimSuffix(g.URL(), "/v1/payments"), g.secret, rate, progress); err != nil {
			return rep, err
		}
		if rr.Echo.P99ms > 0 {
			rr.P99Ratio = rr.Gateway.P99ms / rr.Echo.P99ms
		}
		rep.PeakRSS = max(rep.PeakRSS, peakRSS())
	}
	if g.bank != nil {
		rep.BankPeakRSS = procPeakRSS(strconv.Itoa(g.bank.pid()))
	}
	if failed := rep.failures(); failed != "" {
		return rep, errors.New(failed)
	}
	return rep, nil
}
