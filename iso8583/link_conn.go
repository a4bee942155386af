package iso8583

// The connections of a TCPLink: each kept up (dial, sign-on, echo,
// reconnect), its answers read and matched to their requests, and its
// requests in flight counted so that it closes once they are answered.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// keep keeps connection id of the pool up until the link closes.
func (l *TCPLink) keep(id int) {
	defer l.wg.Done()
	wait, first := l.o.ReconnectWait, true
	log := l.log.With(keyConn, id)
	for l.ctx.Err() == nil {
		c, err := l.connect(id)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			l.mu.Lock()
			if first {
				l.failures++
			}
			l.lastErr = err
			l.signal()
			l.mu.Unlock()
			first = false
			log.Warn("iso8583: acquirer connection failed", paygate.LogError, err, keyRetryIn, wait)
			if !l.sleep(wait) {
				return
			}
			wait = min(2*wait, l.o.MaxReconnectWait)
			continue
		}
		first = false
		start := time.Now()
		l.mu.Lock()
		l.up = append(l.up, c)
		l.signal()
		l.mu.Unlock()
		log.Info("iso8583: acquirer connection signed on")

		l.serve(c, log)
		if l.ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Second {
			wait = l.o.ReconnectWait // it had been up a while: start backing off afresh
		}
		log.Warn("iso8583: acquirer connection lost", paygate.LogError, c.err, keyRetryIn, wait)
		if !l.sleep(wait) {
			return
		}
		wait = min(2*wait, l.o.MaxReconnectWait)
	}
}

// sleep waits d; false if the link closed meanwhile.
func (l *TCPLink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// connect dials, starts reading and signs on.
func (l *TCPLink) connect(id int) (*conn, error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.o.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	d := &net.Dialer{}
	if l.o.TLS != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: l.o.TLS}).DialContext(ctx, "tcp", l.addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", l.addr)
	}
	if err != nil {
		return nil, err
	}
	c := &conn{l: l, nc: nc, id: id, done: make(chan struct{}), wmu: make(chan struct{}, 1), answering: make(chan struct{}, 4)}
	go c.read()
	mg, err := l.manage(ctx, c, SignOn)
	if err == nil && mg.ResponseCode != paygate.ResponseApproved {
		err = fmt.Errorf("sign-on refused with response code %q", mg.ResponseCode)
	}
	if err != nil {
		c.close(err)
		return nil, fmt.Errorf("sign on: %w", err)
	}
	return c, nil
}

// serve keeps c until it closes or the link does: it echoes when c has
// been idle, and signs off when the link closes.
func (l *TCPLink) serve(c *conn, log *slog.Logger) {
	var tick <-chan time.Time
	var t *time.Timer
	if l.o.EchoInterval > 0 {
		t = time.NewTimer(l.o.EchoInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.done:
			return
		case <-l.ctx.Done():
			l.signOff(c, log)
			return
		case <-tick:
			idle := time.Since(time.Unix(0, c.lastSend.Load()))
			if idle >= l.o.EchoInterval {
				ctx, cancel := context.WithTimeout(l.ctx, l.o.ConnectTimeout)
				mg, err := l.manage(ctx, c, Echo)
				cancel()
				if err == nil && mg.ResponseCode != paygate.ResponseApproved {
					err = fmt.Errorf("echo answered with response code %q", mg.ResponseCode)
				}
				if err != nil {
					if l.ctx.Err() != nil {
						continue // closing: sign off instead
					}
					log.Warn("iso8583: acquirer echo failed, closing the connection", paygate.LogError, err)
					c.close(fmt.Errorf("echo: %w", err))
					return
				}
				log.Debug("iso8583: echo answered")
				idle = 0
			}
			t.Reset(l.o.EchoInterval - idle)
		}
	}
}

// signOff takes c out of service, waits for its requests, signs off and
// closes it.
func (l *TCPLink) signOff(c *conn, log *slog.Logger) {
	l.mu.Lock()
	l.remove(c)
	l.mu.Unlock()
	t := time.NewTimer(l.o.ConnectTimeout)
	defer t.Stop()
	select {
	case <-c.inflight.idle():
	case <-c.done:
	case <-t.C:
		log.Warn("iso8583: requests still in flight at sign-off")
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.o.ConnectTimeout)
	defer cancel()
	mg, err := l.manage(ctx, c, SignOff)
	switch {
	case err != nil:
		log.Warn("iso8583: sign-off failed", paygate.LogError, err)
	case mg.ResponseCode != paygate.ResponseApproved:
		log.Warn("iso8583: sign-off answered with response code " + strconv.Quote(mg.ResponseCode))
	default:
		l.signedOff.Add(1)
		log.Info("iso8583: acquirer connection signed off")
	}
	c.close(ErrLinkClosed)
}

// SignedOff returns how many connections signed off with an approved
// answer (for tests).
func (l *TCPLink) SignedOff() int { return int(l.signedOff.Load()) }

// manage sends a network management request on c and returns its answer.
func (l *TCPLink) manage(ctx context.Context, c *conn, code string) (Management, error) {
	n := l.stan.Add(1)%999_999 + 1 // 000001 to 999999
	stan := strconv.Itoa(int(n))
	msg, err := PackManagement(Management{MTI: MTINetwork, Code: code, STAN: stan, Time: time.Now()})
	if err != nil {
		return Management{}, err
	}
	key, _ := answerKeyOf(msg)
	l.mu.Lock()
	cl, err := l.register(key, c)
	l.mu.Unlock()
	if err != nil {
		return Management{}, err
	}
	ans, err := l.exchange(ctx, c, key, cl, msg)
	if err != nil {
		return Management{}, err
	}
	mg, err := UnpackManagement(ans)
	if err != nil {
		return Management{}, err
	}
	if mg.Code != code {
		return mg, fmt.Errorf("answer to network management code %s carries %q", code, mg.Code)
	}
	return mg, nil
}

// remove takes c out of l.up; l.mu is held.
func (l *TCPLink) remove(c *conn) {
	for i, u := range l.up {
		if u == c {
			l.up = append(l.up[:i], l.up[i+1:]...)
			l.signal()
			return
		}
	}
}

// send writes one frame on c.
// errNotWritten: the caller's context ended while it waited for its turn to
// write; nothing was written.
var errNotWritten = errors.New("not written: the caller gave up waiting to write")

func (c *conn) send(ctx context.Context, msg []byte) error {
	frame, err := AppendFrame(make([]byte, 0, 2+len(msg)), msg)
	if err != nil {
		return err
	}
	select {
	case c.wmu <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errNotWritten, ctx.Err())
	case <-c.done:
		return c.err
	}
	defer func() { <-c.wmu }()
	select {
	case <-c.done:
		return c.err
	default:
	}
	// A write cut short leaves half a frame on the wire: it closes c. It
	// may take until the caller's deadline, or ConnectTimeout if sooner.
	deadline := time.Now().Add(c.l.o.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetWriteDeadline(deadline)
	_, err = c.nc.Write(frame)
	c.lastSend.Store(time.Now().UnixNano())
	return err
}

// read delivers the answers that come on c until it closes.
func (c *conn) read() {
	l := c.l
	r := bufio.NewReader(c.nc)
	for {
		msg, err := ReadFrame(r)
		if err != nil {
			c.close(err)
			return
		}
		key, ok := answerKeyOf(msg)
		if !ok {
			l.log.Warn("iso8583: unreadable message from the acquirer dropped", keyConn, c.id, keyBytes, len(msg))
			continue
		}
		if isRequest(msg) { // from the acquirer
			if MTIOf(msg) == MTINetwork {
				select {
				case c.answering <- struct{}{}: // at most a few at once
					go func() { c.answer(msg); <-c.answering }()
				default:
					l.log.Warn("iso8583: too many network management requests from the acquirer; one dropped", keyConn, c.id)
				}
			} else {
				l.log.Warn("iso8583: request from the acquirer dropped", keyConn, c.id, keyMTI, MTIOf(msg), paygate.LogSTAN, key.stan)
			}
			continue
		}
		l.mu.Lock()
		cl := l.pending[key]
		if cl != nil && cl.c == c {
			delete(l.pending, key)
		} else {
			cl = nil
		}
		l.mu.Unlock()
		if cl == nil {
			l.log.Warn("iso8583: late or unmatched answer dropped", keyConn, c.id, keyMTI, key.mti, paygate.LogSTAN, key.stan)
			continue
		}
		cl.ch <- result{msg: msg}
	}
}

// answer approves a network management request from the acquirer (its
// echo, say).
func (c *conn) answer(msg []byte) {
	mg, err := UnpackManagement(msg)
	if err != nil {
		c.l.log.Warn("iso8583: malformed network management request dropped", keyConn, c.id, paygate.LogError, err)
		return
	}
	mg.MTI, mg.ResponseCode = paygate.ResponseMTI(mg.MTI), paygate.ResponseApproved
	out, err := PackManagement(mg)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.l.o.ConnectTimeout)
		err = c.send(ctx, out)
		cancel()
	}
	if err != nil {
		c.close(err)
	}
}

// close closes c once, takes it out of service and fails the requests
// waiting on it: they may have reached the acquirer, so their errors wrap
// paygate.ErrNetworkTimeout.
func (c *conn) close(why error) {
	c.once.Do(func() {
		c.err = why
		close(c.done)
		c.nc.Close()
		l := c.l
		lost := fmt.Errorf("iso8583: connection to %s lost awaiting the answer: %w: %w", l.addr, paygate.ErrNetworkTimeout, why)
		var calls []*call
		l.mu.Lock()
		l.remove(c)
		for k, cl := range l.pending {
			if cl.c == c {
				delete(l.pending, k)
				calls = append(calls, cl)
			}
		}
		l.mu.Unlock()
		for _, cl := range calls {
			cl.ch <- result{err: lost}
		}
	})
}

// flight counts requests in flight on a connection. Unlike a WaitGroup it
// may be added to while someone waits for it to drain (the sign-off itself
// is a request).
type flight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0
}

// Add counts one more request.
func (f *flight) Add(int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.zero = make(chan struct{})
	}
	f.n++
}

// Done counts one request less.
func (f *flight) Done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.zero)
	}
}

// idle returns a channel closed once nothing is in flight.
func (f *flight) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return f.zero
}
