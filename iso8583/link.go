package iso8583

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate"
)

// Errors of a TCPLink.
var (
	// ErrLinkDown: no connection was signed on when the request had to
	// go; it was not sent.
	ErrLinkDown = errors.New("iso8583: no connection to the acquirer is up")
	// ErrLinkClosed: the link was closed.
	ErrLinkClosed = errors.New("iso8583: link closed")
	// ErrInFlight: a request with the same MTI, STAN and DE7 is already
	// waiting for its answer on the link; the second was not sent.
	ErrInFlight = errors.New("iso8583: a request with this STAN is already in flight")
)

// Log keys of the link.
const (
	keyAcquirer = "acquirer"
	keyConn     = "conn"
	keyMTI      = "mti"
	keyBytes    = "bytes"
	keyRetryIn  = "retry_in"
)

// DialOptions configures a TCPLink. The zero value is usable.
type DialOptions struct {
	// TLS, when not nil, runs every connection over TLS with this
	// configuration (the server name defaults to the host of addr).
	TLS *tls.Config
	// Conns is the number of connections in the pool; default 2.
	Conns int
	// EchoInterval is how long a connection may stay silent (nothing
	// sent) before it sends an echo (0800, DE70 301); default 30 s,
	// negative for never. An echo without an answer closes the connection.
	EchoInterval time.Duration
	// ConnectTimeout bounds the dial, the TLS handshake and the sign-on
	// answer; also the wait for echo and sign-off answers and for a write
	// to a peer that does not read. Default 10 s.
	ConnectTimeout time.Duration
	// ReconnectWait is the first wait before a connection that failed or
	// was lost is made again; it doubles on each failure up to
	// MaxReconnectWait. Defaults 100 ms and 10 s.
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
	// Logger gets connection events and dropped answers; nil discards.
	// Nothing logged carries card data: messages are named by MTI and STAN.
	Logger *slog.Logger
}

func (o *DialOptions) defaults() {
	if o.Conns <= 0 {
		o.Conns = 2
	}
	if o.EchoInterval == 0 {
		o.EchoInterval = 30 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 100 * time.Millisecond
	}
	if o.MaxReconnectWait <= 0 {
		o.MaxReconnectWait = 10 * time.Second
	}
	if o.MaxReconnectWait < o.ReconnectWait {
		o.MaxReconnectWait = o.ReconnectWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// TCPLink is a Link to the acquirer over TCP (or TLS): a pool of
// connections, each carrying messages framed by a 2-byte big-endian length
// (see WriteFrame), with many requests in flight at once.
//
// A connection counts as up only once the acquirer has answered its
// sign-on (0800, DE70 001) with 0810 and DE39 00; requests go round-robin
// over the connections that are up. A connection that has sent nothing for
// EchoInterval sends an echo (DE70 301). A connection that fails, is closed
// by the acquirer or misses an echo is made again after a backoff. Close
// signs each connection off (DE70 002) once its requests are answered.
//
// # Matching answers
//
// An answer goes to the request whose answer MTI, STAN (DE11) and
// transmission time (DE7) it carries, and only if it came back on the
// connection the request went out on; the acquirer must echo DE7 and DE11.
// A second request with the same three while the first waits is refused
// with ErrInFlight, not sent. When a request's context ends, it is
// forgotten: its answer, should it come later, is logged ("late or
// unmatched answer dropped", with MTI and STAN) and dropped, never given
// to another caller.
//
// Network management messages take their STANs from the link's own
// counter. They cannot be confused with the gateway's requests, whose STANs
// come from the database: their answers carry MTI 0810, which no financial
// answer does.
//
// # Errors
//
// RoundTrip's errors wrap paygate.ErrNetworkTimeout whenever the request
// may have reached the acquirer without its answer coming back: the
// context ended while waiting, the connection was lost after the request
// was written, or the write failed. When no connection is up, RoundTrip
// returns ErrLinkDown at once (the request was not sent): a caller does
// not wait out its timeout for an acquirer that is not there. Dial or
// WaitUp wait for the link to come up.
type TCPLink struct {
	addr string
	o    DialOptions
	log  *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	up        []*conn             // signed on, in service
	changed   chan struct{}       // closed and replaced whenever up or failures change
	pending   map[answerKey]*call // the calls awaiting an answer
	failures  int                 // connections whose first attempt failed
	lastErr   error
	closed    bool
	nextConn  uint32
	signedOff atomic.Int64 // connections signed off, for tests

	stan atomic.Uint32 // STANs of network management messages
}

var _ Link = (*TCPLink)(nil)

type call struct {
	c  *conn
	ch chan result // buffered: the reader never waits
}

type result struct {
	msg []byte
	err error
}

// conn is one TCP connection of a link.
type conn struct {
	l         *TCPLink
	nc        net.Conn
	id        int
	wmu       chan struct{} // one frame at a time: a one-slot semaphore a caller can stop waiting for
	answering chan struct{} // bounds the goroutines answering the acquirer's 0800s
	lastSend  atomic.Int64  // unix nanoseconds
	inflight  flight
	done      chan struct{}
	once      sync.Once
	err       error // why it closed, set before done closes
}

// NewLink starts a link to addr and returns at once: its connections come
// up in the background. See WaitUp and Dial.
func NewLink(addr string, o DialOptions) (*TCPLink, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("iso8583: acquirer address %q: %w", addr, err)
	}
	o.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	l := &TCPLink{
		addr: addr, o: o, log: o.Logger.With(keyAcquirer, addr),
		ctx: ctx, cancel: cancel,
		changed: make(chan struct{}),
		pending: map[answerKey]*call{},
	}
	l.wg.Add(o.Conns)
	for i := range o.Conns {
		go l.keep(i + 1)
	}
	return l, nil
}

// Dial starts a link to addr and waits until one of its connections has
// signed on. It fails, closing the link, when ctx ends first or when every
// connection failed its first attempt (the acquirer is not there).
func Dial(ctx context.Context, addr string, o DialOptions) (*TCPLink, error) {
	l, err := NewLink(addr, o)
	if err != nil {
		return nil, err
	}
	if err := l.WaitUp(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// WaitUp waits until a connection is signed on. It returns an error when
// ctx ends first, when the link is closed, or when every connection failed
// its first attempt and none has come up since.
func (l *TCPLink) WaitUp(ctx context.Context) error {
	for {
		l.mu.Lock()
		up, closed, failures, lastErr, ch := len(l.up), l.closed, l.failures, l.lastErr, l.changed
		l.mu.Unlock()
		switch {
		case up > 0:
			return nil
		case closed:
			return ErrLinkClosed
		case failures >= l.o.Conns:
			return fmt.Errorf("iso8583: acquirer %s: %w", l.addr, lastErr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("iso8583: acquirer %s: %w: %w", l.addr, ErrLinkDown, ctx.Err())
		}
	}
}

// Up returns the number of connections signed on.
func (l *TCPLink) Up() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.up)
}

// Addr returns the acquirer's address.
func (l *TCPLink) Addr() string { return l.addr }

// Close signs off and closes every connection, each once its requests in
// flight are answered, and waits for that (each connection's wait for its
// requests, its sign-off write and its sign-off answer are bounded by
// ConnectTimeout). Requests after Close fail with ErrLinkClosed. A second
// Close waits like the first.
func (l *TCPLink) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.wg.Wait()
		return nil
	}
	l.closed = true
	l.signal()
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}

// signal wakes whoever waits on a change; l.mu is held.
func (l *TCPLink) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// RoundTrip sends a packed request over a connection that is up and
// returns its packed answer. See TCPLink for how answers are matched and
// which errors mean what.
func (l *TCPLink) RoundTrip(ctx context.Context, msg []byte) ([]byte, error) {
	key, ok := answerKeyOf(msg)
	if !ok {
		return nil, errors.New("iso8583: cannot read the MTI and STAN of the request")
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrLinkClosed
	}
	n := len(l.up)
	if n == 0 {
		l.mu.Unlock()
		return nil, fmt.Errorf("iso8583: acquirer %s: %w", l.addr, ErrLinkDown)
	}
	l.nextConn++
	c := l.up[int(l.nextConn%uint32(n))]
	cl, err := l.register(key, c)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return l.exchange(ctx, c, key, cl, msg)
}

// register records a call waiting for the answer keyed key on c; l.mu is
// held. c.inflight counts it until exchange returns.
func (l *TCPLink) register(key answerKey, c *conn) (*call, error) {
	if _, dup := l.pending[key]; dup {
		return nil, fmt.Errorf("%w: %s stan %s", ErrInFlight, key.mti, key.stan)
	}
	cl := &call{c: c, ch: make(chan result, 1)}
	l.pending[key] = cl
	c.inflight.Add(1)
	return cl, nil
}

// forget removes cl unless the reader or a closing connection took it
// first; it reports whether it did.
func (l *TCPLink) forget(key answerKey, cl *call) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending[key] == cl {
		delete(l.pending, key)
		return true
	}
	return false
}

// exchange writes msg on c and waits for the answer registered as cl.
func (l *TCPLink) exchange(ctx context.Context, c *conn, key answerKey, cl *call, msg []byte) ([]byte, error) {
	defer c.inflight.Done()
	if err := c.send(ctx, msg); err != nil {
		if errors.Is(err, errNotWritten) && l.forget(key, cl) {
			// The caller gave up before its turn to write: nothing went
			// out and the connection is fine.
			return nil, fmt.Errorf("iso8583: %s stan %s to %s: %w: %w", MTIOf(msg), key.stan, l.addr, ErrLinkDown, err)
		}
		if l.forget(key, cl) {
			c.close(err)
			return nil, fmt.Errorf("iso8583: send %s stan %s to %s: %w: %w", MTIOf(msg), key.stan, l.addr, paygate.ErrNetworkTimeout, err)
		}
		r := <-cl.ch // the connection closed under us and answered for it
		return r.msg, r.err
	}
	select {
	case r := <-cl.ch:
		return r.msg, r.err
	case <-ctx.Done():
		if l.forget(key, cl) {
			return nil, fmt.Errorf("iso8583: no answer to %s stan %s from %s: %w: %w", MTIOf(msg), key.stan, l.addr, paygate.ErrNetworkTimeout, ctx.Err())
		}
		r := <-cl.ch // it came just now
		return r.msg, r.err
	}
}
