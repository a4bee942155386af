package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/paygate/paygate/loadgen"
)

// benchReport is what paygate bench measured (its JSON is --json's output).
type benchReport struct {
	Engine          string  `json:"engine"`   // sqlite or postgres
	Acquirer        string  `json:"acquirer"` // in-process or tcp
	IdempotencyKeys bool    `json:"idempotency_keys"`
	Concurrency     int     `json:"concurrency"`
	DurationS       float64 `json:"duration_s"`
	Client          string  `json:"client"` // where the load came from: process or in-process
	CPUs            int     `json:"cpus"`
	GOMAXPROCS      int     `json:"gomaxprocs"`

	Echo    *loadgen.Result `json:"echo"`
	Gateway *loadgen.Result `json:"gateway"`
	// Ratio is the gateway's requests per second over the echo's (with
	// --rounds, over all their turns).
	Ratio float64 `json:"ratio"`
	// RoundRatios is the ratio of each round, with --rounds 2 or more.
	RoundRatios []float64 `json:"round_ratios,omitempty"`
	Rounds      int       `json:"rounds"`
	// Sales approved during the gateway's run (the first sale apart).
	Sales int64 `json:"sales"`
	// BytesPerSale is the growth of the database over the run, per sale:
	// the database file and its WAL (SQLite), or the schema's tables with
	// their indexes (PostgreSQL).
	BytesPerSale float64 `json:"bytes_written_per_sale"`
	// WALBytesPerSale is the PostgreSQL server's WAL written during the
	// run per sale (the whole server's: other databases' writes count).
	WALBytesPerSale float64 `json:"wal_bytes_per_sale,omitempty"`
	// PeakRSS is the peak resident set (VmHWM) of this process from the
	// gateway's start on: the gateway, the echo (idle), the bank when it
	// runs in process, and the load with --client in-process.
	PeakRSS int64 `json:"peak_rss_bytes"`
	// BankPeakRSS is paygate bank's peak resident set, over TCP (its own
	// process).
	BankPeakRSS int64 `json:"bank_peak_rss_bytes,omitempty"`
	// CPUPerSaleUs is the CPU time (user and system) this process spent
	// during the gateway's run, per sale.
	CPUPerSaleUs float64 `json:"cpu_us_per_sale"`
	// BankCPUPerSaleUs is the CPU time paygate bank's process spent during
	// the gateway's run, per sale (over TCP only).
	BankCPUPerSaleUs float64 `json:"bank_cpu_us_per_sale,omitempty"`
	// EchoCPUPerRequestUs is the same for the echo's run, per request.
	EchoCPUPerRequestUs float64 `json:"echo_cpu_us_per_request"`
	// ColdStartMs is from opening the fresh database (migrations
	// included) to the answer of the first approved sale.
	ColdStartMs float64 `json:"cold_start_ms"`

	Rate *rateReport `json:"rate,omitempty"`
}

// rateReport is the open-loop run at a fixed rate.
type rateReport struct {
	PerSec   float64         `json:"requests_per_second"`
	Echo     *loadgen.Result `json:"echo"`
	Gateway  *loadgen.Result `json:"gateway"`
	P99Ratio float64         `json:"p99_ratio"` // gateway p99 / echo p99
}

func (r *benchReport) title() string {
	engine := "SQLite (WAL, each write synced before its answer)"
	if r.Engine == "postgres" {
		engine = "PostgreSQL"
	}
	bank := "bank in process"
	if r.Acquirer == "tcp" {
		bank = "paygate bank over TCP"
	}
	key := "with"
	if !r.IdempotencyKeys {
		key = "without"
	}
	each := "each"
	if r.Rounds > 1 {
		each = fmt.Sprintf("a turn, %d rounds in turns", r.Rounds)
	}
	return fmt.Sprintf("paygate bench: %s, %s, sales %s Idempotency-Key; %d connections, %gs %s; %d CPUs; load from %s",
		engine, bank, key, r.Concurrency, r.DurationS, each, r.CPUs, map[string]string{"process": "a second process", "in-process": "this process"}[r.Client])
}

// print writes the report for a person.
func (r *benchReport) print(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-8s %s\n", "echo", r.Echo)
	fmt.Fprintf(w, "%-8s %s\n", "gateway", r.Gateway)
	fmt.Fprintf(w, "ratio gateway/echo:      %.3f\n", r.Ratio)
	if len(r.RoundRatios) > 1 {
		lo, hi := slices.Min(r.RoundRatios), slices.Max(r.RoundRatios)
		var b strings.Builder
		for i, x := range r.RoundRatios {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%.3f", x)
		}
		fmt.Fprintf(w, "ratio by round:          %s (%.3f–%.3f)\n", b.String(), lo, hi)
	}
	if r.Engine == "postgres" {
		fmt.Fprintf(w, "bytes written per sale:  %.0f (tables and indexes); PostgreSQL WAL %.0f (whole server)\n", r.BytesPerSale, r.WALBytesPerSale)
	} else {
		fmt.Fprintf(w, "bytes written per sale:  %.0f (database file and WAL growth / sales)\n", r.BytesPerSale)
	}
	who := "gateway, bank in process, echo idle"
	if r.Acquirer == "tcp" {
		who = "gateway, echo idle"
	}
	if r.Client == "in-process" {
		who += ", load generator"
	}
	fmt.Fprintf(w, "peak RSS:                %.1f MB (VmHWM: %s)\n", float64(r.PeakRSS)/(1<<20), who)
	if r.Acquirer == "tcp" {
		fmt.Fprintf(w, "                         %.1f MB paygate bank\n", float64(r.BankPeakRSS)/(1<<20))
	}
	fmt.Fprintf(w, "server CPU per sale:     %.0f µs (echo: %.0f µs per request)\n", r.CPUPerSaleUs, r.EchoCPUPerRequestUs)
	if r.Acquirer == "tcp" {
		fmt.Fprintf(w, "paygate bank CPU:        %.0f µs per sale\n", r.BankCPUPerSaleUs)
	}
	fmt.Fprintf(w, "cold start:              %.0f ms to the first approved sale\n", r.ColdStartMs)
	if rr := r.Rate; rr != nil {
		fmt.Fprintf(w, "at %.0f req/s (open loop):\n", rr.PerSec)
		fmt.Fprintf(w, "  %-8s %s\n", "echo", rr.Echo)
		fmt.Fprintf(w, "  %-8s %s\n", "gateway", rr.Gateway)
		fmt.Fprintf(w, "  p99 gateway/echo:      %.2f\n", rr.P99Ratio)
	}
	if f := r.failures(); f != "" {
		fmt.Fprintln(w, f)
	}
}

// failures says which runs had requests that failed, "" if none did.
func (r *benchReport) failures() string {
	var s string
	add := func(name string, res *loadgen.Result) {
		if res != nil && res.OK < res.Requests {
			s += fmt.Sprintf("%s: %d of %d requests failed (first: %s); ", name, res.Requests-res.OK, res.Requests, res.FirstError)
		}
	}
	add("echo", r.Echo)
	add("gateway", r.Gateway)
	if r.Rate != nil {
		add("echo at the fixed rate", r.Rate.Echo)
		add("gateway at the fixed rate", r.Rate.Gateway)
	}
	if s != "" {
		s = s[:len(s)-2]
	}
	return s
}
