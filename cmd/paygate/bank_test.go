package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

var bankListeningRE = regexp.MustCompile(`bank listening on (127\.0\.0\.1:\d+)\n`)

// startBank runs "paygate bank" with args in a goroutine and waits (at most
// 10 s) until it listens; it returns the address. It stops the bank at the
// end of the test if the test has not.
func startBank(t *testing.T, args ...string) (*server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, stdout: new(syncBuffer), stderr: new(syncBuffer), cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, append([]string{"bank"}, args...), s.stdout, s.stderr) }()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := bankListeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			return s, m[1]
		}
		select {
		case code := <-s.done:
			s.stopped = true
			t.Fatalf("bank exited with %d before listening\nstderr:\n%s", code, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("bank not listening after 10s\nstderr:\n%s", s.stderr)
		}
	}
}

func TestBankAndServeOverTCP(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	bk, addr := startBank(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "bank.db"), "--log-format", "json", "--issuer-down", "400009,5555")
	s := startServe(t, serveArgs(dir, "--acquirer", addr, "--acquirer-conns", "2")...)
	if !strings.Contains(s.stderr.String(), "acquirer link up") {
		t.Errorf("no log of the acquirer link:\n%s", s.stderr)
	}
	secret := secretKeyRE.FindStringSubmatch(s.stdout.String())[1]
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	r := call(t, client, "POST", s.url+"/v1/payments", secret, sale(testPAN))
	if r.status != 200 || r.body["status"] != "captured" {
		t.Fatalf("sale over TCP: %d %s", r.status, r.raw)
	}
	if r := call(t, client, "POST", s.url+"/v1/payments", secret, sale(declinedPAN)); r.status != 402 {
		t.Errorf("declined sale: %d %s", r.status, r.raw)
	}
	// --issuer-down took 5555 down.
	r = call(t, client, "POST", s.url+"/v1/payments", secret, sale("5555555555554444"))
	if e, _ := r.body["error"].(map[string]any); r.status != 402 || e["decline_code"] != "issuer_unavailable" {
		t.Errorf("sale with the issuer down: %d %s", r.status, r.raw)
	}
	client.CloseIdleConnections()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d\nstderr:\n%s", code, s.stderr)
	}
	checkLogs(t, s.stderr.String())
	// serve signed both connections off as it stopped.
	if n := strings.Count(bk.stderr.String(), "bank: signed off"); n != 2 {
		t.Errorf("%d sign-offs in the bank's log, want 2:\n%s", n, bk.stderr)
	}
	if code := bk.stop(); code != 0 {
		t.Fatalf("bank exited %d\nstderr:\n%s", code, bk.stderr)
	}
	checkLogs(t, bk.stderr.String())
}

func TestServeAcquirerUnreachable(t *testing.T) {
	clearPaygateEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	s := startServe(t, serveArgs(t.TempDir(), "--acquirer", addr)...)
	if !strings.Contains(s.stderr.String(), "acquirer not reachable at start") {
		t.Errorf("no warning about the acquirer:\n%s", s.stderr)
	}
	secret := secretKeyRE.FindStringSubmatch(s.stdout.String())[1]
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	r := call(t, client, "POST", s.url+"/v1/payments", secret, sale(testPAN))
	waited := time.Since(start)
	if e, _ := r.body["error"].(map[string]any); r.status != 402 || e["decline_code"] != "issuer_unavailable" {
		t.Errorf("sale with no acquirer: %d %s", r.status, r.raw)
	}
	// Declined at once, not after the network timeout (500ms here).
	if waited > 250*time.Millisecond {
		t.Errorf("sale with no acquirer declined after %v, want at once", waited)
	}
	// Not ready: the database is, the acquirer link is not.
	ready := call(t, client, "GET", s.url+"/readyz", "", nil)
	checks, _ := ready.body["checks"].(map[string]any)
	acq, _ := checks["acquirer"].(map[string]any)
	db, _ := checks["database"].(map[string]any)
	if ready.status != 503 || acq["status"] != "fail" || db["status"] != "ok" || db["engine"] != "sqlite" {
		t.Errorf("/readyz with no acquirer: %d %s", ready.status, ready.raw)
	}
	if r := call(t, client, "GET", s.url+"/healthz", "", nil); r.status != 200 {
		t.Errorf("/healthz (liveness) with no acquirer: %d %s", r.status, r.raw)
	}
	client.CloseIdleConnections()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d\nstderr:\n%s", code, s.stderr)
	}
}

func TestBankBadFlags(t *testing.T) {
	clearPaygateEnv(t)
	for _, tc := range []struct {
		name     string
		cmd      string
		args     []string
		code     int
		stderrRE string
	}{
		{"issuer-down", "bank", []string{"--issuer-down", "4000,abc"}, 1, `paygate bank: --issuer-down: "abc" is not a BIN prefix`},
		{"cert without key", "bank", []string{"--tls-cert", "c.pem"}, 1, `paygate bank: --tls-cert and --tls-key go together`},
		{"negative delay", "bank", []string{"--delay", "-1s"}, 1, `paygate bank: --delay must not be negative`},
		{"help", "bank", []string{"-h"}, 2, `(?s)Usage: paygate bank.*SQLite file.*-db.*PAYGATE_BANK_DB.*-issuer-down.*-memory`},
		{"ledger not a database", "bank", []string{"--db", "junk.db"}, 1, `paygate bank: bank: open .*junk\.db: `},
		{"addr in use", "bank", nil, 1, `paygate bank: bank: listen on 127\.0\.0\.1:\d+`},
		{"acquirer-ca file", "serve", []string{"--acquirer", "127.0.0.1:1", "--acquirer-ca", "nope.pem"}, 1, `paygate serve: --acquirer-ca: `},
		{"acquirer-tls alone", "serve", []string{"--acquirer-tls"}, 1, `paygate serve: --acquirer-tls and --acquirer-ca need --acquirer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tc.args
			switch tc.cmd {
			case "serve":
				args = append([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "p.db")}, args...)
			case "bank":
				if tc.name == "addr in use" {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					defer ln.Close()
					args = []string{"--addr", ln.Addr().String(), "--db", filepath.Join(dir, "bank.db")}
				} else {
					args = append([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "bank.db")}, args...)
				}
				if tc.name == "ledger not a database" {
					args = []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "junk.db")}
					if err := os.WriteFile(filepath.Join(dir, "junk.db"), []byte(strings.Repeat("junk ", 200)), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr syncBuffer
			code := run(ctx, append([]string{tc.cmd}, args...), &stdout, &stderr)
			if ctx.Err() != nil {
				t.Fatalf("%s did not fail within 10s", tc.cmd)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !regexp.MustCompile(tc.stderrRE).MatchString(stderr.String()) {
				t.Errorf("stderr does not match %q:\n%s", tc.stderrRE, stderr.String())
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("started although it failed:\n%s", stdout.String())
			}
		})
	}
}

// bankLink signs on to the bank at addr. Close the link before stopping
// the bank: a link closing while the bank drops its connections trips the
// race detector in iso8583.TCPLink.signOff.
func bankLink(t *testing.T, addr string) (*iso8583.Client, *iso8583.TCPLink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := iso8583.Dial(ctx, addr, iso8583.DialOptions{Conns: 1, EchoInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return iso8583.NewClient(l, 5*time.Second), l
}

func bankRequest(kind paygate.NetworkKind, rrn string, amount int64) paygate.NetworkRequest {
	now := time.Now().UTC()
	return paygate.NetworkRequest{
		Kind: kind, PAN: testPAN, ExpMonth: 12, ExpYear: now.Year() + 2, Amount: amount,
		Currency: paygate.Currency{Code: "USD", Numeric: "840", Exponent: 2},
		STAN:     rrn[6:], RRN: rrn, TransmissionTime: now,
		MerchantID: "MERCHANT0000001", MerchantName: "Paygate Test Shop", TerminalID: "WEB00001", MCC: "5999",
	}
}

// TestBankLedgerSurvivesRestart stops "paygate bank" and starts it again
// on the same file and address: the hold placed before is captured after,
// and a repeat of the authorization gets the first answer.
func TestBankLedgerSurvivesRestart(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	t.Setenv("PAYGATE_BANK_DB", filepath.Join(dir, "ledger.db"))
	bk, addr := startBank(t, "--addr", "127.0.0.1:0", "--log-format", "json")
	if !strings.Contains(bk.stderr.String(), "ledger.db") {
		t.Errorf("the log does not name the ledger file:\n%s", bk.stderr)
	}
	c, link := bankLink(t, addr)
	auth := bankRequest(paygate.NetworkAuthorize, "000000000001", 1500)
	first, err := c.Send(context.Background(), auth)
	if err != nil || !first.Approved() {
		t.Fatalf("authorization: %+v %v", first, err)
	}
	link.Close()
	if code := bk.stop(); code != 0 {
		t.Fatalf("bank exited %d\nstderr:\n%s", code, bk.stderr)
	}

	bk, _ = startBank(t, "--addr", addr, "--log-format", "json")
	c, link = bankLink(t, addr)
	again := auth
	again.STAN = "999999"
	if got, err := c.Send(context.Background(), again); err != nil || got != first {
		t.Errorf("repeat after the restart: %+v %v, first %+v", got, err, first)
	}
	capture := bankRequest(paygate.NetworkCapture, auth.RRN, 1500)
	capture.AuthCode, capture.OriginalKind, capture.OriginalSTAN, capture.OriginalTime, capture.OriginalAmount = first.AuthCode, auth.Kind, auth.STAN, auth.TransmissionTime, auth.Amount
	capture.STAN = "000002"
	if got, err := c.Send(context.Background(), capture); err != nil || got.ResponseCode != "00" {
		t.Errorf("capture after the restart: %+v %v", got, err)
	}
	// The capture is posted when the batch is reconciled (0500).
	rec, err := c.Reconcile(context.Background(), paygate.ReconcileRequest{MerchantID: "MERCHANT0000001", TerminalID: "WEB00001",
		BatchNumber: 1, Currency: capture.Currency, Totals: paygate.Totals{DebitsCount: 1, DebitsAmount: 1500},
		Pricing: paygate.DefaultPricing.Code(), STAN: "000003", TransmissionTime: time.Now()})
	if err != nil || rec.ResponseCode != "00" || rec.Funded != 1500-rec.Fees || rec.Fees <= 0 {
		t.Errorf("reconciliation: %+v %v", rec, err)
	}
	link.Close()
	if code := bk.stop(); code != 0 {
		t.Fatalf("bank exited %d\nstderr:\n%s", code, bk.stderr)
	}
	checkLogs(t, bk.stderr.String())
	if strings.Contains(bk.stderr.String(), `"level":"WARN"`) {
		t.Errorf("warnings in the bank's log:\n%s", bk.stderr)
	}

	b, err := bank.Open(filepath.Join(dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a, _ := b.Account(testPAN); a.Held != 0 || a.Posted != bank.StandardLimit-1500 {
		t.Errorf("ledger after the capture and the reconciliation: %+v", a)
	}
	if got := b.Funded("MERCHANT0000001"); got != rec.Funded {
		t.Errorf("funded %d, want %d", got, rec.Funded)
	}
}

// TestBankLedgerDefault checks where the ledger goes: paygate-bank.db in
// the working directory by default, nowhere with --memory.
func TestBankLedgerDefault(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	bk, _ := startBank(t, "--addr", "127.0.0.1:0", "--memory")
	if code := bk.stop(); code != 0 {
		t.Fatalf("bank exited %d\nstderr:\n%s", code, bk.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "paygate-bank.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--memory: %v, want no paygate-bank.db", err)
	}
	bk, _ = startBank(t, "--addr", "127.0.0.1:0")
	if code := bk.stop(); code != 0 {
		t.Fatalf("bank exited %d\nstderr:\n%s", code, bk.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "paygate-bank.db")); err != nil {
		t.Errorf("default ledger: %v", err)
	}
}
