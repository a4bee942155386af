package bank_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

func mustServe(tb testing.TB, b *bank.Bank) *bank.Server {
	tb.Helper()
	s := &bank.Server{Addr: "127.0.0.1:0", Bank: b}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rawConn is a plain TCP connection to the server, framing by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, s *bank.Server) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.ListenAddr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// exchange writes msg and reads one answer (at most 2 s).
func (c *rawConn) exchange(msg []byte) []byte {
	c.t.Helper()
	if err := iso8583.WriteFrame(c.nc, msg); err != nil {
		c.t.Fatal(err)
	}
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, err := iso8583.ReadFrame(c.r)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *rawConn) manage(code string) iso8583.Management {
	c.t.Helper()
	msg, err := iso8583.PackManagement(iso8583.Management{MTI: "0800", Code: code, STAN: "000001", Time: now})
	if err != nil {
		c.t.Fatal(err)
	}
	mg, err := iso8583.UnpackManagement(c.exchange(msg))
	if err != nil {
		c.t.Fatal(err)
	}
	return mg
}

func (c *rawConn) authorize(amount int64) string {
	c.t.Helper()
	msg, err := iso8583.PackRequest(request(paygate.NetworkAuthorize, approve, amount))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, _, _, err := iso8583.UnpackResponse(c.exchange(msg))
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.ResponseCode
}

func TestServerSignOn(t *testing.T) {
	b := bank.New(nil)
	s := mustServe(t, b)
	c := dialRaw(t, s)
	if rc := c.authorize(100); rc != "91" {
		t.Errorf("before sign-on: %s, want 91", rc)
	}
	if b.Holds(approve) != 0 {
		t.Errorf("a request before sign-on reached the bank")
	}
	if mg := c.manage(iso8583.Echo); mg.MTI != "0810" || mg.ResponseCode != "00" {
		t.Errorf("echo before sign-on: %+v", mg)
	}
	if mg := c.manage(iso8583.SignOn); mg.MTI != "0810" || mg.ResponseCode != "00" || mg.Code != iso8583.SignOn {
		t.Errorf("sign-on: %+v", mg)
	}
	if rc := c.authorize(100); rc != "00" {
		t.Errorf("after sign-on: %s, want 00", rc)
	}
	// A malformed frame gets no answer and leaves the connection open.
	if err := iso8583.WriteFrame(c.nc, []byte("0100garbage")); err != nil {
		t.Fatal(err)
	}
	if rc := c.authorize(100); rc != "00" {
		t.Errorf("after a malformed frame: %s, want 00", rc)
	}
	if mg := c.manage(iso8583.SignOff); mg.ResponseCode != "00" {
		t.Errorf("sign-off: %+v", mg)
	}
	if rc := c.authorize(100); rc != "91" {
		t.Errorf("after sign-off: %s, want 91", rc)
	}
	st := s.Stats()
	if st.SignOns != 1 || st.SignOffs != 1 || st.Echoes != 1 || st.Connections != 1 {
		t.Errorf("stats %+v", st)
	}
	if b.Holds(approve) != 200 {
		t.Errorf("holds %d, want 200", b.Holds(approve))
	}

	s.SetFaults(bank.Faults{RefuseSignOn: true})
	if mg := dialRaw(t, s).manage(iso8583.SignOn); mg.ResponseCode != "91" {
		t.Errorf("refused sign-on: %+v", mg)
	}
}

func TestServerCloseAfter(t *testing.T) {
	s := mustServe(t, bank.New(nil))
	c := dialRaw(t, s)
	c.manage(iso8583.SignOn)
	s.SetFaults(bank.Faults{CloseAfter: 2})
	if f := s.Faults(); f.CloseAfter != 2 {
		t.Errorf("Faults() = %+v", f)
	}
	c.manage(iso8583.Echo) // network management does not count
	c.authorize(1)
	c.authorize(1)
	if f := s.Faults(); f.CloseAfter != 0 {
		t.Errorf("Faults() = %+v, want nothing left", f)
	}
	msg, _ := iso8583.PackRequest(request(paygate.NetworkAuthorize, approve, 1))
	iso8583.WriteFrame(c.nc, msg)
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if out, err := iso8583.ReadFrame(c.r); err != io.EOF {
		t.Errorf("third request: %q %v, want the connection closed", out, err)
	}
	// It fired once: a new connection is served.
	c2 := dialRaw(t, s)
	c2.manage(iso8583.SignOn)
	if rc := c2.authorize(1); rc != "00" {
		t.Errorf("new connection: %s", rc)
	}
}

// frame packs msgs framed, one after the other.
func frames(tb testing.TB, msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		var err error
		if out, err = iso8583.AppendFrame(out, m); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// FuzzServeConn feeds raw socket bytes to a server connection: whatever
// comes, it must not panic, and it must return once the peer hangs up.
func FuzzServeConn(f *testing.F) {
	s := &bank.Server{Addr: "127.0.0.1:0", Bank: bank.New(nil)}
	if err := s.Open(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	signOn, _ := iso8583.PackManagement(iso8583.Management{MTI: "0800", Code: iso8583.SignOn, STAN: "1", Time: now})
	echo, _ := iso8583.PackManagement(iso8583.Management{MTI: "0800", Code: iso8583.Echo, STAN: "2", Time: now})
	auth, _ := iso8583.PackRequest(request(paygate.NetworkAuthorize, approve, 100))
	sale, _ := iso8583.PackRequest(request(paygate.NetworkSale, "4000000000000002", 100))
	orig := request(paygate.NetworkAuthorize, approve, 100)
	rev, _ := iso8583.PackRequest(follow(paygate.NetworkReverse, orig, "A1B2C3", 40))
	f.Add(frames(f, signOn, auth, sale, rev, echo))
	f.Add(frames(f, auth))
	f.Add(frames(f, signOn, []byte("0100FFFFFFFFFFFFFFFF")))
	f.Add([]byte("\x00\x05abc"))
	f.Add([]byte("\x00\x00\x00\x04\x30\x38\x30\x30"))
	f.Add([]byte{0xff, 0xff, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(server)
			close(done)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return after the peer hung up")
		}
	})
}

// BenchmarkAuthorizeTCPvsInProcess measures authorizations per second
// through iso8583.Client over the TCP link (2 connections, 32 callers) and,
// in the same run, over the in-process LinkFunc.
func BenchmarkAuthorizeTCPvsInProcess(b *testing.B) {
	const callers = 32
	bk := bank.New(nil)
	s := mustServe(b, bk)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	link, err := iso8583.Dial(ctx, s.ListenAddr(), iso8583.DialOptions{Conns: 2, EchoInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	for link.Up() < 2 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	tcp := iso8583.NewClient(link, 5*time.Second)
	inproc := iso8583.NewClient(iso8583.LinkFunc(bk.Handle), 5*time.Second)

	run := func(c *iso8583.Client) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					resp, err := c.Send(context.Background(), request(paygate.NetworkAuthorize, approve, 100))
					if err != nil || !resp.Approved() {
						b.Error(resp.ResponseCode, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(b.N) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	tcpRate := run(tcp)
	inRate := run(inproc)
	b.StopTimer()
	b.ReportMetric(tcpRate, "tcp_auth/s")
	b.ReportMetric(inRate, "inproc_auth/s")
	b.ReportMetric(tcpRate/inRate, "tcp/inproc")
	if b.N > 1 {
		b.Log(fmt.Sprintf("%d authorizations, %d callers: TCP link (2 conns) %.0f/s, in process %.0f/s, ratio %.2f",
			b.N, callers, tcpRate, inRate, tcpRate/inRate))
	}
}
