package bank

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

// Log keys of the server.
const (
	keyRemote = "remote"
	keyBytes  = "bytes"
	keyCode   = "code"
)

// maxInFlight bounds the requests a connection may have in the bank at
// once; reading stops until one is answered.
const maxInFlight = 1024

// Faults are failures the server injects, for tests and demonstrations.
// They apply to financial messages only (network management is always
// answered at once, so that links can sign on and echo), and to the next
// message read after SetFaults.
type Faults struct {
	// Delay holds each answer this long after the bank has processed the
	// request.
	Delay time.Duration
	// DropAnswers processes each request (holds placed, sales posted) and
	// never sends its answer.
	DropAnswers bool
	// CloseAfter, when > 0, answers the next CloseAfter financial messages
	// (over all connections) normally, then closes the connection that
	// brings the one after, without processing it. It fires once.
	CloseAfter int
	// RefuseSignOn answers sign-ons with 91 instead of 00.
	RefuseSignOn bool
}

// Server is the acquirer's end of the TCP link: it reads messages framed by
// a 2-byte big-endian length (iso8583.ReadFrame), answers network
// management itself and passes financial messages to Bank.Handle, many at
// a time per connection, writing each answer as soon as it is ready.
//
// Each connection starts signed off. A sign-on (0800, DE70 001) signs it
// on, a sign-off (002) signs it off, an echo (301) is answered either way;
// all get 0810 with 00. A financial message on a connection that is not
// signed on is not passed to the bank: it is answered with 91 (issuer or
// switch inoperative) so that the sender learns at once that it must sign
// on. A message that cannot be unpacked is logged (by length) and not
// answered; the connection stays open.
//
// Set the fields before Open; do not change them after.
type Server struct {
	Addr   string      // listen address, e.g. 127.0.0.1:8583 or 127.0.0.1:0
	TLS    *tls.Config // nil: plain TCP
	Bank   *Bank
	Logger *slog.Logger // nil discards

	ln     net.Listener
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	faults    atomic.Pointer[Faults]
	closeLeft atomic.Int64 // CloseAfter+1 while armed, else 0

	mu    sync.Mutex
	conns map[*serverConn]struct{}

	signOns, signOffs, echoes atomic.Int64
}

// Open binds the address and starts accepting connections; it returns once
// the address is bound, so Addr and URL are known.
func (s *Server) Open() error {
	if s.Bank == nil {
		return errors.New("bank: server without a bank")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("bank: listen on %s: %w", s.Addr, err)
	}
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conns = map[*serverConn]struct{}{}
	if s.faults.Load() == nil {
		s.faults.Store(&Faults{})
	}
	s.wg.Add(1)
	go s.accept()
	return nil
}

// ListenAddr returns the address the server listens on, with the port
// chosen when Addr asked for :0.
func (s *Server) ListenAddr() string {
	return s.ln.Addr().String()
}

// URL returns the address as iso8583://host:port, or iso8583s:// with TLS.
func (s *Server) URL() string {
	scheme := "iso8583"
	if s.TLS != nil {
		scheme = "iso8583s"
	}
	return scheme + "://" + s.ListenAddr()
}

// Close stops accepting, closes every connection (answers in progress are
// lost) and waits for the server's goroutines.
func (s *Server) Close() error {
	if s.ln == nil {
		return nil
	}
	s.cancel() // first, so that accept knows its error is the close
	err := s.ln.Close()
	s.CloseConnections()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// CloseConnections closes every open connection at once, as a network
// failure would, and returns how many there were. The server keeps
// accepting.
func (s *Server) CloseConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
	return len(s.conns)
}

// SetFaults replaces the faults; it is safe at any time.
func (s *Server) SetFaults(f Faults) {
	s.faults.Store(&f)
	if f.CloseAfter > 0 {
		s.closeLeft.Store(int64(f.CloseAfter) + 1)
	} else {
		s.closeLeft.Store(0)
	}
}

// Faults returns the faults in force; CloseAfter is what is left of it.
func (s *Server) Faults() Faults {
	f := Faults{}
	if p := s.faults.Load(); p != nil {
		f = *p
	}
	f.CloseAfter = max(int(s.closeLeft.Load())-1, 0)
	return f
}

// ServerStats counts the server's network management.
type ServerStats struct {
	Connections int   // open now
	SignOns     int64 // approved sign-ons
	SignOffs    int64
	Echoes      int64
}

// Stats returns the server's counters; the bank's are in Bank.Stats.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return ServerStats{Connections: n, SignOns: s.signOns.Load(), SignOffs: s.signOffs.Load(), Echoes: s.echoes.Load()}
}

func (s *Server) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: wait, do not spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Logger.Warn("bank: accept", keyError, err.Error())
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.ServeConn(nc)
		}()
	}
}

type serverConn struct {
	s        *Server
	nc       net.Conn
	wmu      sync.Mutex
	signedOn atomic.Bool
	log      *slog.Logger
}

// ServeConn serves one connection until the peer closes it, a read fails or
// the server closes; it closes nc. It is what Open runs for each accepted
// connection; tests may call it, after Open, with one end of a net.Pipe.
func (s *Server) ServeConn(nc net.Conn) {
	c := &serverConn{s: s, nc: nc, log: s.Logger.With(keyRemote, nc.RemoteAddr().String())}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(s.ctx)
	var inflight sync.WaitGroup
	defer func() {
		cancel()
		nc.Close()
		inflight.Wait()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.log.Debug("bank: connection opened")
	sem := make(chan struct{}, maxInFlight)
	r := bufio.NewReader(nc)
	for {
		msg, err := iso8583.ReadFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				c.log.Debug("bank: connection read", keyError, err.Error())
			}
			c.log.Debug("bank: connection closed")
			return
		}
		if iso8583.MTIOf(msg) == iso8583.MTINetwork {
			// In order, so that a sign-on counts before what follows it.
			if err := c.manage(ctx, msg); err != nil {
				return
			}
			continue
		}
		if s.closeNow() {
			c.log.Info("bank: closing the connection (fault injected)")
			return
		}
		if !c.signedOn.Load() {
			c.refuse(msg)
			continue
		}
		sem <- struct{}{}
		inflight.Add(1)
		go func() {
			defer func() { <-sem; inflight.Done() }()
			c.handle(ctx, msg)
		}()
	}
}

// closeNow counts a financial message against CloseAfter and reports
// whether it is the one whose connection closes.
func (s *Server) closeNow() bool {
	for {
		v := s.closeLeft.Load()
		if v == 0 {
			return false
		}
		if s.closeLeft.CompareAndSwap(v, v-1) {
			return v == 1
		}
	}
}

// manage answers a network management message; an error means the
// connection cannot be written to.
func (c *serverConn) manage(ctx context.Context, msg []byte) error {
	s := c.s
	mg, err := iso8583.UnpackManagement(msg)
	if err != nil {
		s.Bank.stats.malformed.Add(1)
		c.log.Warn("bank: malformed network management message", keyBytes, len(msg), keyError, err.Error())
		return nil
	}
	if mg.MTI != iso8583.MTINetwork {
		return nil
	}
	out, err := s.Bank.Handle(ctx, msg) // counts it, answers 00
	if err != nil {
		c.log.Warn("bank: cannot answer network management", keyError, err.Error())
		return nil
	}
	switch mg.Code {
	case iso8583.SignOn:
		if s.faults.Load().RefuseSignOn {
			mg.MTI, mg.ResponseCode = paygate.ResponseMTI(mg.MTI), rcIssuerDown
			if out, err = iso8583.PackManagement(mg); err != nil {
				return nil
			}
			c.log.Info("bank: sign-on refused (fault injected)")
			break
		}
		c.signedOn.Store(true)
		s.signOns.Add(1)
		c.log.Info("bank: signed on", keySTAN, mg.STAN)
	case iso8583.SignOff:
		c.signedOn.Store(false)
		s.signOffs.Add(1)
		c.log.Info("bank: signed off", keySTAN, mg.STAN)
	case iso8583.Echo:
		s.echoes.Add(1)
		c.log.Debug("bank: echo", keySTAN, mg.STAN)
	default:
		c.log.Info("bank: network management", keyCode, mg.Code, keySTAN, mg.STAN)
	}
	return c.write(out)
}

// refuse answers a financial message sent before sign-on with 91.
func (c *serverConn) refuse(msg []byte) {
	var out []byte
	var err error
	switch iso8583.MTIOf(msg) {
	case paygate.MTIReconciliation:
		var r paygate.ReconcileRequest
		if r, err = iso8583.UnpackReconcile(msg); err == nil {
			out, err = iso8583.PackReconcileResponse(r, paygate.ReconcileResponse{ResponseCode: rcIssuerDown})
		}
	case paygate.MTIBatchUpload:
		var r paygate.UploadRequest
		if r, err = iso8583.UnpackUpload(msg); err == nil {
			out, err = iso8583.PackUploadResponse(r, rcIssuerDown)
		}
	default:
		c.refuseRequest(msg)
		return
	}
	if err != nil {
		c.s.Bank.stats.malformed.Add(1)
		c.log.Warn("bank: malformed settlement message", keyMTI, iso8583.MTIOf(msg), keyBytes, len(msg), keyError, err.Error())
		return
	}
	c.log.Warn("bank: settlement message before sign-on answered 91", keyMTI, iso8583.MTIOf(msg))
	c.write(out)
}

// refuseRequest answers a financial request sent before sign-on with 91.
func (c *serverConn) refuseRequest(msg []byte) {
	req, mti, err := iso8583.UnpackRequest(msg)
	if err != nil {
		c.s.Bank.stats.malformed.Add(1)
		c.log.Warn("bank: malformed request", keyMTI, mti, keyBytes, len(msg), keyError, err.Error())
		return
	}
	if req.Kind == paygate.NetworkReverse && req.OriginalKind == 0 {
		req.OriginalKind = paygate.NetworkAuthorize
	}
	out, err := iso8583.PackResponse(req, paygate.NetworkResponse{ResponseCode: rcIssuerDown})
	if err != nil {
		return
	}
	c.log.Warn("bank: request before sign-on answered 91", keyMTI, mti, keySTAN, req.STAN)
	c.write(out)
}

// handle passes a financial message to the bank and writes its answer,
// unless the faults say otherwise.
func (c *serverConn) handle(ctx context.Context, msg []byte) {
	f := c.s.faults.Load()
	out, err := c.s.Bank.Handle(ctx, msg)
	if err != nil {
		return // logged by the bank; no answer
	}
	if f.DropAnswers {
		c.log.Debug("bank: answer dropped (fault injected)", keyBytes, len(out))
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
	c.write(out)
}

// write sends one frame; a failed write closes the connection.
func (c *serverConn) write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := iso8583.WriteFrame(c.nc, msg)
	if err != nil {
		c.nc.Close()
	}
	return err
}
