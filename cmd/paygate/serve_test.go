package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/gatewaytest"
)

// waitForLog reports whether the log in b holds s within 5 s: serve's log
// is written by a goroutine of its own (logWriter), a moment after it is
// logged.
func waitForLog(b *syncBuffer, s string) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while
// the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clearPaygateEnv unsets every PAYGATE_ variable for the test (restored
// afterwards), so the developer's environment cannot change the flags'
// defaults.
func clearPaygateEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PAYGATE_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// server is one run of "paygate serve" in a goroutine.
type server struct {
	t       *testing.T
	stdout  *syncBuffer
	stderr  *syncBuffer
	cancel  context.CancelFunc
	done    chan int // receives run's exit code
	url     string
	stopped bool
}

var listeningRE = regexp.MustCompile(`paygate listening on (https?://127\.0\.0\.1:\d+)\n`)

// startServe runs serve with args and waits (at most 10 s) until it
// listens. It stops the server at the end of the test if the test has not.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	return startCommand(t, listeningRE, append([]string{"serve"}, args...)...)
}

// startCommand runs the command line args and waits (at most 10 s) until
// its stdout matches ready, whose first group is the URL it serves. It
// stops the command at the end of the test if the test has not.
func startCommand(t *testing.T, ready *regexp.Regexp, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, stdout: new(syncBuffer), stderr: new(syncBuffer), cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, args, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := ready.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			return s
		}
		select {
		case code := <-s.done:
			s.stopped = true
			t.Fatalf("%s exited with %d before listening\nstdout:\n%s\nstderr:\n%s", args[0], code, s.stdout, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after 10s\nstdout:\n%s\nstderr:\n%s", args[0], s.stdout, s.stderr)
		}
	}
}

// stop cancels the context and returns run's exit code (within 20 s).
func (s *server) stop() int {
	s.t.Helper()
	s.stopped = true
	s.cancel()
	select {
	case code := <-s.done:
		return code
	case <-time.After(20 * time.Second):
		s.t.Fatalf("the command did not return within 20s of cancel\nstderr:\n%s", s.stderr)
		return -1
	}
}

// runServeArgs runs serve with args that should make it fail at once.
func runServeArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), &out, &errb) }()
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatalf("serve %q did not fail within 10s; stdout:\n%s", args, out.String())
	}
	return code, out.String(), errb.String()
}

var secretKeyRE = regexp.MustCompile(`(?m)^  secret key:      (sk_[0-9a-z]+)$`)

func serveArgs(dir string, extra ...string) []string {
	return append([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "p.db"),
		"--network-timeout", "500ms", "--log-format", "json"}, extra...)
}

type apiResponse struct {
	status int
	body   map[string]any
	raw    string
}

func call(t *testing.T, c *http.Client, method, url, key string, body any) apiResponse {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	out := apiResponse{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %v\n%s", method, url, resp.StatusCode, err, raw)
	}
	return out
}

const (
	testPAN     = "4242424242424242"
	declinedPAN = "4000000000000002"
	testCVC     = "123"
)

func sale(pan string) map[string]any {
	return map[string]any{"amount": 1000, "currency": "USD",
		"card": map[string]any{"number": pan, "exp_month": 12, "exp_year": 2031, "cvc": testCVC}}
}

// checkLogs checks every stderr line is a JSON log record and that no card
// number or CVC appears in them.
func checkLogs(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, testPAN) || strings.Contains(stderr, declinedPAN) {
		t.Errorf("logs contain a card number:\n%s", stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		n++
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %v: %s", err, line)
			continue
		}
		walkJSON(rec, "", func(path string, v any) {
			k := path[strings.LastIndexByte(path, '.')+1:]
			switch k {
			case "cvc", "cvv", "cvv2":
				t.Errorf("log record has a %q field (%v): %s", path, v, line)
			}
			if s, ok := v.(string); ok && (s == testCVC || strings.Contains(s, testPAN) || strings.Contains(s, declinedPAN)) {
				t.Errorf("log record field %s = %q leaks card data: %s", path, s, line)
			}
		})
	}
	if n == 0 {
		t.Errorf("no log records on stderr")
	}
}

func walkJSON(v any, path string, f func(path string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkJSON(e, path+"."+k, f)
		}
	case []any:
		for i, e := range x {
			walkJSON(e, fmt.Sprintf("%s.%d", path, i), f)
		}
	default:
		f(path, v)
	}
}

func TestServe(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	// First start: a key file, a demo merchant and its keys, once.
	s := startServe(t, serveArgs(dir)...)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Fatalf("url %q", s.url)
	}
	out := s.stdout.String()
	keys := secretKeyRE.FindAllStringSubmatch(out, -1)
	if len(keys) != 1 || strings.Count(out, "First start: created demo merchant acct_") != 1 {
		t.Fatalf("want one first-start banner with one secret key, stdout:\n%s", out)
	}
	if strings.Contains(out, "publishable") || strings.Contains(out, "pk_") {
		t.Errorf("a publishable key in the banner (they are no longer issued):\n%s", out)
	}
	secret := keys[0][1]

	keyFile := filepath.Join(dir, "paygate.key")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n?$`).Match(b) {
		t.Errorf("key file holds %q, want 64 hex characters", b)
	}
	if !waitForLog(s.stderr, "created master key file") {
		t.Errorf("no log about the new key file:\n%s", s.stderr)
	}

	if r := call(t, client, "GET", s.url+"/readyz", "", nil); r.status != 200 || r.body["status"] != "ready" {
		t.Errorf("readyz: %d %s", r.status, r.raw)
	}
	if r := call(t, client, "GET", s.url+"/healthz", "", nil); r.status != 200 || r.body["status"] != "ok" {
		t.Errorf("healthz: %d %s", r.status, r.raw)
	}
	r := call(t, client, "POST", s.url+"/v1/payments", secret, sale(testPAN))
	if r.status != 200 || r.body["status"] != "captured" {
		t.Fatalf("sale: %d %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, testPAN) || strings.Contains(r.raw, `"cvc"`) {
		t.Errorf("response leaks card data: %s", r.raw)
	}
	paymentID, _ := r.body["id"].(string)
	if !strings.HasPrefix(paymentID, "pay") {
		t.Errorf("payment id %q", paymentID)
	}
	r = call(t, client, "POST", s.url+"/v1/payments", secret, sale(declinedPAN))
	if r.status != 402 {
		t.Errorf("declined sale: %d %s, want 402", r.status, r.raw)
	} else if e, _ := r.body["error"].(map[string]any); e["type"] != "card_error" {
		t.Errorf("declined sale error: %s", r.raw)
	}
	if r := call(t, client, "POST", s.url+"/v1/payments", "sk_wrong", sale(testPAN)); r.status != 401 {
		t.Errorf("bad key: %d %s, want 401", r.status, r.raw)
	}

	client.CloseIdleConnections()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d after cancel\nstderr:\n%s", code, s.stderr)
	}
	if strings.Contains(s.stdout.String(), "sk_") && len(secretKeyRE.FindAllString(s.stdout.String(), -1)) != 1 {
		t.Errorf("keys printed more than once:\n%s", s.stdout)
	}
	checkLogs(t, s.stderr.String())

	// Restart on the same database: no banner, same key file, old key works.
	// Debug logs this time, to check they do not leak card data either.
	s2 := startServe(t, serveArgs(dir, "--log-level", "debug")...)
	if out := s2.stdout.String(); strings.Contains(out, "First start") || strings.Contains(out, "sk_") {
		t.Errorf("banner on restart:\n%s", out)
	}
	if strings.Contains(s2.stderr.String(), "created master key file") {
		t.Errorf("key file made again on restart:\n%s", s2.stderr)
	}
	if b2, _ := os.ReadFile(keyFile); !bytes.Equal(b, b2) {
		t.Errorf("key file changed on restart")
	}
	r = call(t, client, "POST", s2.url+"/v1/payments", secret, sale(testPAN))
	if r.status != 200 || r.body["status"] != "captured" {
		t.Errorf("sale after restart: %d %s", r.status, r.raw)
	}
	if r := call(t, client, "GET", s2.url+"/v1/payments/"+paymentID, secret, nil); r.status != 200 || r.body["id"] != paymentID {
		t.Errorf("payment from before the restart: %d %s", r.status, r.raw)
	}
	client.CloseIdleConnections()
	if code := s2.stop(); code != 0 {
		t.Fatalf("restarted serve exited %d\nstderr:\n%s", code, s2.stderr)
	}
	checkLogs(t, s2.stderr.String())
}

func TestServeMasterKeyEnv(t *testing.T) {
	clearPaygateEnv(t)
	t.Setenv("PAYGATE_MASTER_KEY", strings.Repeat("0123456789abcdef", 4))
	dir := t.TempDir()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	s := startServe(t, serveArgs(dir)...)
	m := secretKeyRE.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no banner:\n%s", s.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "paygate.key")); !os.IsNotExist(err) {
		t.Errorf("key file made although PAYGATE_MASTER_KEY is set (stat: %v)", err)
	}
	if strings.Contains(s.stderr.String(), "created master key file") {
		t.Errorf("logged a key file:\n%s", s.stderr)
	}
	if r := call(t, client, "POST", s.url+"/v1/payments", m[1], sale(testPAN)); r.status != 200 || r.body["status"] != "captured" {
		t.Errorf("sale: %d %s", r.status, r.raw)
	}
	client.CloseIdleConnections()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d\nstderr:\n%s", code, s.stderr)
	}
	checkLogs(t, s.stderr.String())
	if strings.Contains(s.stderr.String(), "0123456789abcdef") {
		t.Errorf("master key logged:\n%s", s.stderr)
	}

	// A malformed master key is an error, before anything is created.
	t.Setenv("PAYGATE_MASTER_KEY", "not-a-key")
	dir2 := t.TempDir()
	code, stdout, stderr := runServeArgs(t, serveArgs(dir2)...)
	if code != 1 || !strings.Contains(stderr, "PAYGATE_MASTER_KEY") {
		t.Errorf("bad PAYGATE_MASTER_KEY: exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stdout, "sk_") {
		t.Errorf("keys printed although serve failed:\n%s", stdout)
	}
}

func TestServeTLSCert(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	cert, err := selfSigned("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	s := startServe(t, serveArgs(dir, "--tls-cert", certFile, "--tls-key", keyFile)...)
	gatewaytest.CheckTLS(t, s.url, nil)
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d\nstderr:\n%s", code, s.stderr)
	}
}

func TestServeDevTLS(t *testing.T) {
	clearPaygateEnv(t)
	dir := t.TempDir()
	s := startServe(t, serveArgs(dir, "--dev-tls")...)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("--dev-tls url %q, want https://127.0.0.1:PORT", s.url)
	}
	gatewaytest.CheckTLS(t, s.url, nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if r := call(t, client, "GET", s.url+"/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz over TLS: %d %s", r.status, r.raw)
	}
	// Plain HTTP to the TLS port does not get an answer from the API.
	plain := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	if resp, err := plain.Get(strings.Replace(s.url, "https://", "http://", 1) + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP answered 200 on the TLS port")
		}
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	plain.CloseIdleConnections()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d\nstderr:\n%s", code, s.stderr)
	}
}

func TestServeBadFlags(t *testing.T) {
	clearPaygateEnv(t)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stderrRE string
	}{
		{"log level", []string{"--log-level", "nonsense"}, 1, `paygate serve: log level "nonsense": want debug, info, warn or error`},
		{"log format", []string{"--log-format", "xml"}, 1, `paygate serve: log format "xml": want text or json`},
		{"cert without key", []string{"--tls-cert", "cert.pem"}, 1, `paygate serve: --tls-cert and --tls-key go together`},
		{"key without cert", []string{"--tls-key", "key.pem"}, 1, `paygate serve: --tls-cert and --tls-key go together`},
		{"missing cert files", []string{"--tls-cert", "nope.pem", "--tls-key", "nope.key"}, 1, `paygate serve: load TLS key pair: `},
		{"bad duration", []string{"--network-timeout", "soon"}, 2, `invalid value "soon" for flag -network-timeout`},
		{"max conns", []string{"--max-conns", "0"}, 1, `paygate serve: --max-conns must be positive`},
		{"rate limit", []string{"--rate-limit", "-1"}, 1, `paygate serve: --rate-limit and --rate-burst must not be negative`},
		{"gc percent", []string{"--gc-percent", "-1"}, 1, `paygate serve: --gc-percent must not be negative \(0 for Go's default\)`},
		{"smtp url", []string{"--smtp-url", "smtp://u:hunter2@mail.example?tls=sometimes", "--mail-from", "r@example.com"}, 1, `paygate serve: --smtp-url: smtp url: tls="sometimes": want starttls, implicit or none`},
		{"smtp without from", []string{"--smtp-url", "smtp://u:hunter2@mail.example"}, 1, `paygate serve: --smtp-url: mail from: an address is required to send mail \(--mail-from\)`},
		{"admin on the public address", []string{"--addr", "127.0.0.1:18080", "--admin-addr", "0.0.0.0:18080"}, 1, `paygate serve: --admin-addr 0.0.0.0:18080 is the public address 127.0.0.1:18080`},
		{"admin address", []string{"--admin-addr", "9090"}, 1, `paygate serve: --admin-addr "9090": want host:port`},
		{"unknown flag", []string{"--bogus"}, 2, `flag provided but not defined: -bogus`},
		{"argument", []string{"extra"}, 1, `paygate serve: unexpected argument "extra"`},
		{"help", []string{"-h"}, 2, `Usage of paygate serve:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "p.db")}, tc.args...)
			code, stdout, stderr := runServeArgs(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !regexp.MustCompile(tc.stderrRE).MatchString(stderr) {
				t.Errorf("stderr does not match %q:\n%s", tc.stderrRE, stderr)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr shows the SMTP password:\n%s", stderr)
			}
			if strings.Contains(stdout, "listening") || strings.Contains(stdout, "sk_") {
				t.Errorf("serve started or printed keys although it failed:\n%s", stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "paygate.key")); !os.IsNotExist(err) {
				t.Errorf("key file made although serve failed (stat: %v)", err)
			}
		})
	}
}

func TestServeAddrInUse(t *testing.T) {
	clearPaygateEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	code, _, stderr := runServeArgs(t, "--addr", ln.Addr().String(), "--db", filepath.Join(dir, "p.db"))
	if code != 1 || !strings.Contains(stderr, "paygate serve: listen on "+ln.Addr().String()) {
		t.Errorf("address in use: exit %d, stderr:\n%s", code, stderr)
	}
	// A start that failed made nothing: no database, no key file.
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed start left %v behind", left)
	}
}
