package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/webhook"
)

// query is what the gateway appends to a merchant's URL: the signed result.
// No error may show it.
const query = "?session_id=cs_TEST&result=approved&signature=v1%2CSECRETSIG"

// checkNoQuery fails if err's text shows any of the query.
func checkNoQuery(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"?", "session_id", "cs_TEST", "signature", "SECRETSIG"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q of the query", err, s)
		}
	}
}

// merchant is a merchant's site on 127.0.0.1 that counts the connections
// it accepts. Handlers that block do so until the test ends.
type merchant struct {
	*httptest.Server
	conns   atomic.Int64
	release chan struct{}
	mu      sync.Mutex
	hits    map[string]int
	got     *http.Request
}

func newMerchant(t *testing.T) *merchant {
	t.Helper()
	m := &merchant{release: make(chan struct{}), hits: map[string]int{}}
	block := func(r *http.Request) {
		select {
		case <-m.release:
		case <-r.Context().Done():
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/paid", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<p>Thank you</p>")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, webhook.DefaultMaxBody))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, webhook.DefaultMaxBody+1))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { block(r) })
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<p>The start"))
		w.(http.Flusher).Flush()
		block(r)
	})
	m.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.hits[r.URL.Path]++
		m.got = r.Clone(context.Background())
		m.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	m.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			m.conns.Add(1)
		}
	}
	m.Start()
	t.Cleanup(m.Close)
	t.Cleanup(func() { close(m.release) }) // runs first: the blocked handlers return, then Close
	return m
}

func (m *merchant) port() string {
	_, port, _ := net.SplitHostPort(m.Listener.Addr().String())
	return port
}

func (m *merchant) hitsOf(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

func TestFetchRefused(t *testing.T) {
	m := newMerchant(t)
	var passed []string
	// A broken guard must not make this test send a packet: whatever
	// passes it is recorded and refused here.
	webhook.SetDialHook(t, func(address string) error {
		passed = append(passed, address)
		return errors.New("test: the guard let this address through")
	})
	tests := []struct {
		url  string
		want string
	}{
		{"http://127.0.0.1:" + m.port() + "/paid", "refused: 127.0.0.1 is a loopback address"},
		{"http://10.1.2.3/paid", "refused: 10.1.2.3 is a private address"},
		{"https://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a link-local address"},
		{"http://[::1]:" + m.port() + "/paid", "refused: ::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]:" + m.port() + "/paid", "is a loopback address"},
		{"http://localhost:" + m.port() + "/paid", "is a loopback address"},
		{"http://0.0.0.0:" + m.port() + "/paid", "refused: 0.0.0.0 is in 0.0.0.0/8"},
		{"http://[fd00::1]/paid", "refused: fd00::1 is a private address"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			passed = nil
			c := &webhook.Client{Timeout: 5 * time.Second}
			res, err := c.Fetch(context.Background(), tt.url+query)
			if err == nil {
				t.Fatalf("got %d, want an error", res.Status)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to say %q", err, tt.want)
			}
			if want := "GET " + tt.url + ": refused: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %q, want it to start %q", err, want)
			}
			var ae *webhook.AddrError
			if !errors.As(err, &ae) {
				t.Errorf("got %T, want an *AddrError inside", err)
			}
			checkNoQuery(t, err)
			if len(passed) != 0 {
				t.Errorf("the guard let %v through", passed)
			}
		})
	}
	if n := m.conns.Load(); n != 0 {
		t.Errorf("the merchant's server accepted %d connections, want 0: the guard must refuse before connecting", n)
	}
}

func TestFetch(t *testing.T) {
	m := newMerchant(t)
	c := &webhook.Client{AllowPrivate: true}
	ctx := context.Background()

	res, err := c.Fetch(ctx, m.URL+"/paid"+query)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || !res.OK() || string(res.Body) != "<p>Thank you</p>" || res.ContentType != "text/html; charset=utf-8" {
		t.Errorf("got %d %q %q, want 200 text/html; charset=utf-8 \"<p>Thank you</p>\"", res.Status, res.ContentType, res.Body)
	}
	m.mu.Lock()
	got := m.got
	m.mu.Unlock()
	if got.Method != "GET" || got.UserAgent() != "paygate" || "?"+got.URL.RawQuery != query {
		t.Errorf("got %s %s?%s User-Agent %q, want GET /paid%s User-Agent paygate", got.Method, got.URL.Path,
			got.URL.RawQuery, got.UserAgent(), query)
	}

	res, err = c.Fetch(ctx, m.URL+"/redirect"+query)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusFound || res.OK() {
		t.Errorf("got %d (OK %v), want 302, not OK", res.Status, res.OK())
	}
	if n := m.hitsOf("/target"); n != 0 {
		t.Errorf("the redirect was followed (%d requests to its target)", n)
	}

	res, err = c.Fetch(ctx, m.URL+"/error"+query)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 500 || res.OK() {
		t.Errorf("got %d (OK %v), want 500, not OK", res.Status, res.OK())
	}

	res, err = c.Fetch(ctx, m.URL+"/exact"+query)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Body) != webhook.DefaultMaxBody {
		t.Errorf("got a body of %d bytes, want %d", len(res.Body), webhook.DefaultMaxBody)
	}
}

func TestFetchFails(t *testing.T) {
	m := newMerchant(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name string
		url  string
		want string
		is   error
	}{
		{"body too large", m.URL + "/big", "GET " + m.URL + "/big: answer larger than 1 MiB", nil},
		{"no answer", m.URL + "/slow", "GET " + m.URL + "/slow: timed out after 200ms", context.DeadlineExceeded},
		{"body too slow", m.URL + "/slowbody", "GET " + m.URL + "/slowbody: timed out after 200ms", context.DeadlineExceeded},
		{"connection refused", closedURL + "/paid", "GET " + closedURL + "/paid: dial tcp", nil},
		{"not http", "ftp://127.0.0.1/paid", "GET ftp://127.0.0.1/paid: only http and https URLs can be fetched", nil},
		{"file", "file:///etc/passwd", "GET file:///etc/passwd: only http and https URLs can be fetched", nil},
		{"no host", "http:///paid", "GET http:///paid: the URL has no host", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &webhook.Client{AllowPrivate: true, Timeout: 200 * time.Millisecond}
			res, err := c.Fetch(context.Background(), tt.url+query)
			if err == nil {
				t.Fatalf("got %d %q, want an error", res.Status, res.Body)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q, want it to start %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to wrap %v", err, tt.is)
			}
			checkNoQuery(t, err)
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	m := newMerchant(t)
	c := &webhook.Client{AllowPrivate: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Fetch(ctx, m.URL+"/paid"+query)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	checkNoQuery(t, err)
}

func TestNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	for _, c := range []*webhook.Client{{}, {AllowPrivate: true}} {
		if p := webhook.Transport(c).Proxy; p != nil {
			t.Errorf("AllowPrivate %v: got a Proxy function, want none (the proxy would dial unguarded)", c.AllowPrivate)
		}
	}
}
