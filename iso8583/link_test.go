package iso8583_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	simbank "github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

// logBuffer collects log output from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startBank runs a bank server on a free loopback port until the test ends.
func startBank(t testing.TB, tlsConf *tls.Config) (*simbank.Bank, *simbank.Server) {
	t.Helper()
	b := simbank.New(nil)
	s := &simbank.Server{Addr: "127.0.0.1:0", Bank: b, TLS: tlsConf}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return b, s
}

// quick are link options for tests: short waits, no echo.
func quick(o iso8583.DialOptions) iso8583.DialOptions {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 2 * time.Second
	}
	if o.EchoInterval == 0 {
		o.EchoInterval = -1
	}
	o.ReconnectWait, o.MaxReconnectWait = 10*time.Millisecond, 100*time.Millisecond
	return o
}

// mustDial dials addr, waits (at most 5 s) until all its connections are
// up and closes the link when the test ends.
func mustDial(t testing.TB, addr string, o iso8583.DialOptions) *iso8583.TCPLink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := iso8583.Dial(ctx, addr, quick(o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	want := o.Conns
	if want == 0 {
		want = 2
	}
	eventually(t, "all connections up", func() bool { return l.Up() == want })
	return l
}

var seq atomic.Int64

// fresh returns a request of kind for pan with a STAN and RRN of its own.
func fresh(kind paygate.NetworkKind, pan string, amount int64) paygate.NetworkRequest {
	n := seq.Add(1)
	r := request(kind)
	r.PAN, r.Amount = pan, amount
	r.STAN = fmt.Sprintf("%06d", 100000+n)
	r.RRN = fmt.Sprintf("7%011d", n)
	r.TransmissionTime = time.Now()
	r.ExpYear = time.Now().Year() + 2
	r.AuthCode, r.OriginalKind, r.OriginalSTAN, r.OriginalTime, r.OriginalAmount = "", 0, "", time.Time{}, 0
	if kind != paygate.NetworkAuthorize && kind != paygate.NetworkSale {
		r.CVC = ""
	}
	return r
}

// follow returns a capture or reversal of orig.
func follow(kind paygate.NetworkKind, orig paygate.NetworkRequest, authCode string, amount int64) paygate.NetworkRequest {
	r := fresh(kind, orig.PAN, amount)
	r.RRN, r.AuthCode = orig.RRN, authCode
	r.OriginalKind, r.OriginalSTAN, r.OriginalTime, r.OriginalAmount = orig.Kind, orig.STAN, orig.TransmissionTime, orig.Amount
	return r
}

func mustSend(t testing.TB, c *iso8583.Client, req paygate.NetworkRequest) paygate.NetworkResponse {
	t.Helper()
	resp, err := c.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", req.Kind, err)
	}
	return resp
}

// eventually polls cond every 5 ms for at most 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLinkRoundTrip(t *testing.T) {
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{})
	c := iso8583.NewClient(l, 2*time.Second)
	start, _ := b.Account(testPAN)

	auth := fresh(paygate.NetworkAuthorize, testPAN, 1000)
	resp := mustSend(t, c, auth)
	if !resp.Approved() || len(resp.AuthCode) != 6 || resp.RRN != auth.RRN {
		t.Fatalf("authorize: %+v", resp)
	}
	if a, _ := b.Account(testPAN); a.Held != start.Held+1000 || a.Holds[auth.RRN] != 1000 {
		t.Errorf("after authorize: held %d, hold %d", a.Held-start.Held, a.Holds[auth.RRN])
	}
	if resp := mustSend(t, c, follow(paygate.NetworkCapture, auth, resp.AuthCode, 600)); !resp.Approved() {
		t.Fatalf("capture: %+v", resp)
	}
	// The hold stays until the capture is cleared.
	a, _ := b.Account(testPAN)
	if a.Held != start.Held+1000 || a.Posted != start.Posted || a.Available != a.Posted-a.Held {
		t.Errorf("after capture: %+v, start %+v", a, start)
	}

	auth2 := fresh(paygate.NetworkAuthorize, testPAN, 2500)
	resp2 := mustSend(t, c, auth2)
	if resp := mustSend(t, c, follow(paygate.NetworkReverse, auth2, resp2.AuthCode, 0)); !resp.Approved() {
		t.Fatalf("reverse: %+v", resp)
	}
	if a, _ := b.Account(testPAN); a.Held != start.Held+1000 || a.Holds[auth2.RRN] != 0 {
		t.Errorf("after reversal: held %d", a.Held-start.Held)
	}

	if resp := mustSend(t, c, fresh(paygate.NetworkRefund, testPAN, 300)); !resp.Approved() {
		t.Fatalf("refund: %+v", resp)
	}
	b.ClearAll()
	a, _ = b.Account(testPAN)
	if a.Posted != start.Posted-600+300 || a.Held != start.Held || a.Available != a.Posted-a.Held {
		t.Errorf("after refund: posted %d, want %d", a.Posted, start.Posted-300)
	}
	if resp := mustSend(t, c, fresh(paygate.NetworkSale, "4000000000000002", 100)); resp.ResponseCode != "05" {
		t.Errorf("declined sale: %+v", resp)
	}

	st := b.Stats()
	if st.Authorizations != 2 || st.Captures != 1 || st.Reversals != 1 || st.Refunds != 1 || st.Sales != 1 {
		t.Errorf("bank stats %+v", st)
	}
	if ss := s.Stats(); ss.SignOns != 2 || ss.Connections != 2 {
		t.Errorf("server stats %+v, want 2 sign-ons on 2 connections", ss)
	}
	l.Close()
	eventually(t, "two sign-offs", func() bool { return s.Stats().SignOffs == 2 })
	if l.SignedOff() != 2 {
		t.Errorf("link signed off %d connections, want 2", l.SignedOff())
	}
	if _, err := c.Send(context.Background(), fresh(paygate.NetworkAuthorize, testPAN, 1)); !errors.Is(err, iso8583.ErrLinkClosed) {
		t.Errorf("Send after Close = %v, want ErrLinkClosed", err)
	}
}

// recorder is a fake acquirer that records every frame it reads, raw,
// per connection, and answers with a bank.
type recorder struct {
	ln    net.Listener
	bank  *simbank.Bank
	mu    sync.Mutex
	conns [][][]byte // frames (with their length prefix) per connection
	wg    sync.WaitGroup
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, bank: simbank.New(nil)}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			i := len(r.conns)
			r.conns = append(r.conns, nil)
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					var h [2]byte
					if _, err := io.ReadFull(br, h[:]); err != nil {
						return
					}
					msg := make([]byte, int(h[0])<<8|int(h[1]))
					if _, err := io.ReadFull(br, msg); err != nil {
						return
					}
					r.mu.Lock()
					r.conns[i] = append(r.conns[i], append(h[:], msg...))
					r.mu.Unlock()
					out, err := r.bank.Handle(context.Background(), msg)
					if err != nil {
						return
					}
					if err := iso8583.WriteFrame(nc, out); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

func (r *recorder) frames() [][][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][][]byte, len(r.conns))
	for i, c := range r.conns {
		out[i] = append([][]byte(nil), c...)
	}
	return out
}

// code returns the DE70 of a framed 0800, "" for other messages.
func code(frame []byte) string {
	mg, err := iso8583.UnpackManagement(frame[2:])
	if err != nil {
		return ""
	}
	return mg.Code
}

func TestLinkSignOnEchoSignOff(t *testing.T) {
	r := startRecorder(t)
	l := mustDial(t, r.ln.Addr().String(), iso8583.DialOptions{Conns: 1, EchoInterval: 30 * time.Millisecond})
	eventually(t, "an echo", func() bool {
		f := r.frames()
		return len(f) == 1 && len(f[0]) >= 2 && code(f[0][1]) == iso8583.Echo
	})
	req := request(paygate.NetworkAuthorize) // the fixed request of the golden file
	golden, err := os.ReadFile(filepath.Join("testdata", "frame-0100.golden"))
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	resp, err := iso8583.NewClient(l, time.Second).Send(context.Background(), req)
	if err != nil || !resp.Approved() {
		t.Fatalf("authorize: %+v %v", resp, err)
	}
	l.Close()

	f := r.frames()
	if len(f) != 1 {
		t.Fatalf("%d connections, want 1", len(f))
	}
	var codes []string
	for _, fr := range f[0] {
		if n := int(fr[0])<<8 | int(fr[1]); n != len(fr)-2 {
			t.Errorf("length prefix %d, frame of %d", n, len(fr)-2)
		}
		switch mti := string(fr[2:6]); mti {
		case "0800":
			codes = append(codes, code(fr))
		case "0100":
			codes = append(codes, "0100")
			if !bytes.Equal(fr, golden) {
				t.Errorf("0100 on the wire\n%q\nwant testdata/frame-0100.golden\n%q", fr, golden)
			}
		default:
			t.Errorf("unexpected MTI %s", mti)
		}
	}
	got := strings.Join(codes, " ")
	if !strings.HasPrefix(got, "001 301") || !strings.Contains(got, " 0100") || !strings.HasSuffix(got, " 002") {
		t.Errorf("messages on the wire: %s; want sign-on, echoes, the 0100, sign-off", got)
	}
	if strings.Count(got, "001") != 1 || strings.Count(got, "002") != 1 {
		t.Errorf("messages on the wire: %s; want one sign-on and one sign-off", got)
	}
}

func TestFrameGolden(t *testing.T) {
	for _, g := range []struct {
		name string
		pack func() ([]byte, error)
	}{
		{"frame-0100", func() ([]byte, error) { return iso8583.PackRequest(request(paygate.NetworkAuthorize)) }},
		{"frame-0800", func() ([]byte, error) {
			return iso8583.PackManagement(iso8583.Management{MTI: "0800", Code: iso8583.SignOn, STAN: "000007", Time: sentAt})
		}},
	} {
		t.Run(g.name, func(t *testing.T) {
			msg, err := g.pack()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := iso8583.WriteFrame(&buf, msg); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", g.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("framed\n%q\nwant\n%q", got, want)
			}
			back, err := iso8583.ReadFrame(bytes.NewReader(want))
			if err != nil || !bytes.Equal(back, msg) {
				t.Errorf("ReadFrame(golden) = %q, %v", back, err)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{"\x00\x03abc", "abc", nil},
		{"\x00\x00\x00\x02ab", "ab", nil}, // empty frame skipped
		{"", "", io.EOF},
		{"\x00", "", io.ErrUnexpectedEOF},
		{"\x00\x05ab", "", io.ErrUnexpectedEOF},
	} {
		got, err := iso8583.ReadFrame(strings.NewReader(tc.in))
		if string(got) != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ReadFrame(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if err := iso8583.WriteFrame(io.Discard, make([]byte, iso8583.MaxFrame+1)); !errors.Is(err, iso8583.ErrFrameTooLong) {
		t.Errorf("WriteFrame(too long) = %v", err)
	}
}

func TestLinkReconnectAfterClose(t *testing.T) {
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{})
	c := iso8583.NewClient(l, 2*time.Second)
	s.SetFaults(simbank.Faults{CloseAfter: 3})
	var lost int
	for i := range 10 {
		resp, err := c.Send(context.Background(), fresh(paygate.NetworkAuthorize, testPAN, 100))
		switch {
		case err == nil && resp.Approved():
		case errors.Is(err, paygate.ErrNetworkTimeout) && i == 3:
			lost++ // the fourth message found its connection closing
		default:
			t.Errorf("authorization %d: %+v %v", i, resp, err)
		}
	}
	if lost != 1 {
		t.Errorf("%d requests lost with their connection, want 1", lost)
	}
	eventually(t, "the closed connection made again", func() bool { return s.Stats().SignOns == 3 && l.Up() == 2 })
	if got := b.Stats().Authorizations; got != 9 {
		t.Errorf("bank saw %d authorizations, want 9 (the fourth was not processed)", got)
	}
	// Every connection closed at once: the pool comes back.
	if n := s.CloseConnections(); n != 2 {
		t.Errorf("closed %d connections, want 2", n)
	}
	eventually(t, "both connections made again", func() bool { return s.Stats().SignOns == 5 && l.Up() == 2 })
	mustSend(t, c, fresh(paygate.NetworkAuthorize, testPAN, 100))
}

func TestLinkBankRestart(t *testing.T) {
	b := simbank.New(nil)
	s := &simbank.Server{Addr: "127.0.0.1:0", Bank: b}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	addr := s.ListenAddr()
	l := mustDial(t, addr, iso8583.DialOptions{})
	c := iso8583.NewClient(l, 2*time.Second)
	mustSend(t, c, fresh(paygate.NetworkAuthorize, testPAN, 100))

	s.Close()
	eventually(t, "the link down", func() bool { return l.Up() == 0 })
	// With no connection up, a request is refused at once, not sent: the
	// caller does not wait out its timeout for a bank that is not there.
	const timeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	start := time.Now()
	_, err := l.RoundTrip(ctx, mustPack(t, fresh(paygate.NetworkAuthorize, testPAN, 100)))
	waited := time.Since(start)
	cancel()
	if !errors.Is(err, iso8583.ErrLinkDown) {
		t.Errorf("RoundTrip with the bank down = %v, want ErrLinkDown", err)
	}
	if waited > timeout/4 {
		t.Errorf("RoundTrip with the bank down took %v of its %v deadline, want an immediate refusal", waited, timeout)
	}
	if _, err := iso8583.NewClient(l, timeout).Send(context.Background(), fresh(paygate.NetworkAuthorize, testPAN, 100)); !errors.Is(err, paygate.ErrNotSent) {
		t.Errorf("Send with the bank down = %v, want ErrNotSent", err)
	}

	s2 := &simbank.Server{Addr: addr, Bank: b}
	eventually(t, "the address free again", func() bool { return s2.Open() == nil })
	defer s2.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.WaitUp(ctx); err != nil {
		t.Fatal(err)
	}
	mustSend(t, c, fresh(paygate.NetworkAuthorize, testPAN, 100))
	eventually(t, "both connections back", func() bool { return l.Up() == 2 })
}

func mustPack(t testing.TB, req paygate.NetworkRequest) []byte {
	t.Helper()
	b, err := iso8583.PackRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLinkTimeoutDropsLateAnswer(t *testing.T) {
	var logs logBuffer
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{Conns: 1, Logger: newLogger(&logs)})
	c := iso8583.NewClient(l, 100*time.Millisecond)

	s.SetFaults(simbank.Faults{Delay: 300 * time.Millisecond})
	first := fresh(paygate.NetworkAuthorize, testPAN, 100)
	start := time.Now()
	_, err := c.Send(context.Background(), first)
	if !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Fatalf("Send = %v, want ErrNetworkTimeout", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("timed out after %v, want about 100ms", d)
	}
	// The next request waits on the same connection while the late
	// answer to the first arrives; it must get its own.
	s.SetFaults(simbank.Faults{Delay: 350 * time.Millisecond})
	second := fresh(paygate.NetworkAuthorize, testPAN, 200)
	resp, err := iso8583.NewClient(l, 2*time.Second).Send(context.Background(), second)
	if err != nil || !resp.Approved() || resp.RRN != second.RRN {
		t.Fatalf("second: %+v %v", resp, err)
	}
	eventually(t, "the late answer logged", func() bool {
		return strings.Contains(logs.String(), "late or unmatched answer dropped") && strings.Contains(logs.String(), "stan="+first.STAN)
	})
	if strings.Contains(logs.String(), testPAN) {
		t.Errorf("logs leak the card number:\n%s", logs.String())
	}
	if b.Holds(testPAN) < 300 {
		t.Errorf("holds %d: the bank processed both", b.Holds(testPAN))
	}
}

func TestLinkDropAnswers(t *testing.T) {
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{})
	s.SetFaults(simbank.Faults{DropAnswers: true})
	before := b.Holds(testPAN)
	_, err := iso8583.NewClient(l, 100*time.Millisecond).Send(context.Background(), fresh(paygate.NetworkAuthorize, testPAN, 700))
	if !errors.Is(err, paygate.ErrNetworkTimeout) {
		t.Fatalf("Send = %v, want ErrNetworkTimeout", err)
	}
	if got := b.Holds(testPAN) - before; got != 700 {
		t.Errorf("held %d, want 700: the issuer processed the request", got)
	}
	if f := s.Faults(); !f.DropAnswers {
		t.Errorf("Faults() = %+v", f)
	}
	s.SetFaults(simbank.Faults{})
	mustSend(t, iso8583.NewClient(l, time.Second), fresh(paygate.NetworkAuthorize, testPAN, 1))
}

func TestLinkDuplicateInFlight(t *testing.T) {
	_, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{})
	s.SetFaults(simbank.Faults{Delay: 200 * time.Millisecond})
	msg := mustPack(t, fresh(paygate.NetworkAuthorize, testPAN, 100))
	done := make(chan error, 1)
	go func() {
		_, err := l.RoundTrip(context.Background(), msg)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := l.RoundTrip(context.Background(), msg); !errors.Is(err, iso8583.ErrInFlight) {
		t.Errorf("second RoundTrip = %v, want ErrInFlight", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first RoundTrip: %v", err)
	}
}

func TestLinkConcurrent(t *testing.T) {
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{Conns: 2})
	// A little delay, so that many requests are in flight at once.
	s.SetFaults(simbank.Faults{Delay: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fresh(paygate.NetworkAuthorize, testPAN, int64(1000+i))
			ans, err := l.RoundTrip(context.Background(), mustPack(t, req))
			if err != nil {
				t.Errorf("%d: %v", i, err)
				return
			}
			resp, mti, stan, err := iso8583.UnpackResponse(ans)
			if err != nil || mti != "0110" || stan != req.STAN || resp.RRN != req.RRN || !resp.Approved() {
				t.Errorf("%d: answer %s stan %s %+v %v, want 0110 stan %s", i, mti, stan, resp, err, req.STAN)
			}
			if d := iso8583.Describe(ans); !strings.Contains(d, fmt.Sprintf(" 4=%012d ", 1000+i)) {
				t.Errorf("%d: answer for another amount: %s", i, d)
			}
		}()
	}
	wg.Wait()
	if got := b.Stats().Authorizations; got != 64 {
		t.Errorf("bank saw %d authorizations, want 64", got)
	}
}

func TestLinkTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	_, s := startBank(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	mustSend(t, iso8583.NewClient(l, 2*time.Second), fresh(paygate.NetworkSale, testPAN, 100))
	if !strings.HasPrefix(s.URL(), "iso8583s://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}

	// Without the CA the handshake fails, and Dial says so at once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := iso8583.Dial(ctx, s.ListenAddr(), quick(iso8583.DialOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS12}})); err == nil || ctx.Err() != nil {
		t.Errorf("Dial without the CA = %v", err)
	}
}

func TestDialFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Nobody listens: every connection fails its first attempt.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := iso8583.Dial(ctx, addr, quick(iso8583.DialOptions{})); err == nil || ctx.Err() != nil {
		t.Errorf("Dial to nobody = %v", err)
	}
	// The acquirer refuses the sign-on: the link is not up.
	_, s := startBank(t, nil)
	s.SetFaults(simbank.Faults{RefuseSignOn: true})
	if _, err := iso8583.Dial(ctx, s.ListenAddr(), quick(iso8583.DialOptions{})); err == nil || !strings.Contains(err.Error(), "sign-on refused") {
		t.Errorf("Dial with sign-on refused = %v", err)
	}
	if _, err := iso8583.NewLink("no-port", iso8583.DialOptions{}); err == nil {
		t.Error("NewLink without a port: no error")
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "paygate test bank"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestLinkCloseWithRequestInFlight: a request already written when the link
// closes may have reached the acquirer: it is in doubt (to be reversed),
// never "not sent" (which would fail it with nothing reversed).
func TestLinkCloseWithRequestInFlight(t *testing.T) {
	b, s := startBank(t, nil)
	l := mustDial(t, s.ListenAddr(), iso8583.DialOptions{Conns: 1})
	s.SetFaults(simbank.Faults{DropAnswers: true})
	before := b.Holds(testPAN)
	done := make(chan error, 1)
	go func() {
		_, err := iso8583.NewClient(l, 10*time.Second).Send(context.Background(), fresh(paygate.NetworkAuthorize, testPAN, 700))
		done <- err
	}()
	eventually(t, "the issuer processed the request", func() bool { return b.Holds(testPAN)-before == 700 })
	l.Close()
	err := <-done
	if !errors.Is(err, paygate.ErrNetworkTimeout) || errors.Is(err, paygate.ErrNotSent) {
		t.Fatalf("Send = %v, want ErrNetworkTimeout (in doubt), not ErrNotSent", err)
	}
}
