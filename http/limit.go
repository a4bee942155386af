package http

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// DefaultMaxConns is how many connections a Server keeps open at once
// unless told otherwise.
const DefaultMaxConns = 4096

// Refusing a connection past the cap: at most maxRefusing at once (each
// holds its descriptor for up to refuseTimeout); past that, connections are
// closed without an answer.
const (
	maxRefusing   = 64
	refuseTimeout = 2 * time.Second
)

// refusal is the whole answer to a connection past the cap.
var refusal = func() []byte {
	body := fmt.Sprintf(`{"error":{"type":"api_error","code":%q,"message":"The server is at its connection limit. Retry shortly."}}`+"\n", paygate.EUNAVAILABLE)
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// limitListener keeps at most cap(slots) accepted connections open. Past
// that it still accepts — so that clients are not left hanging in the
// kernel's queue, as they are behind netutil.LimitListener, which stops
// accepting — answers the connection itself with a 503 carrying Retry-After
// and Connection: close, and closes it.
//
// It sits under TLS: it counts descriptors, and a refusal over TLS is
// written on a TLS connection of its own that offers HTTP/1.1 only.
type limitListener struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{}
	tls      *tls.Config // nil: plain HTTP
}

func newLimitListener(ln net.Listener, max int, tlsConf *tls.Config) *limitListener {
	l := &limitListener{Listener: ln, slots: make(chan struct{}, max), refusing: make(chan struct{}, maxRefusing)}
	if tlsConf != nil {
		l.tls = tlsConf.Clone()
		l.tls.NextProtos = []string{"http/1.1"}
	}
	return l
}

// Accept returns the next connection within the cap, refusing those past it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, l: l}, nil
		default:
		}
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				l.refuse(c)
			}()
		default:
			c.Close()
		}
	}
}

// refuse reads the request's head on c, writes the 503, lets the client
// finish sending (so that closing does not reset the connection before the
// answer is read) and closes it, all within refuseTimeout. The head is
// read first because clients take an answer that comes before their
// request for a broken connection.
func (l *limitListener) refuse(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(refuseTimeout))
	var rw net.Conn = c
	if l.tls != nil {
		rw = tls.Server(c, l.tls)
	}
	if !readHead(rw) {
		return
	}
	if _, err := rw.Write(refusal); err != nil {
		return
	}
	if cw, ok := rw.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(rw, 64<<10))
}

// readHead reads up to the blank line that ends a request's head (at most
// 32 KB); false if the client sent none.
func readHead(r io.Reader) bool {
	buf := make([]byte, 4096)
	var tail []byte // the last bytes read, to find "\r\n\r\n" across reads
	for total := 0; total < 32<<10; {
		n, err := r.Read(buf)
		total += n
		tail = append(tail, buf[:n]...)
		if bytes.Contains(tail, []byte("\r\n\r\n")) {
			return true
		}
		if len(tail) > 3 {
			tail = tail[len(tail)-3:]
		}
		if err != nil {
			return false
		}
	}
	return true
}

// limitedConn gives its slot back when it closes.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
