package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/webhook"
)

// token is a secret of the merchant's in its endpoint's query. No error
// may show it.
const token = "?token=SECRETTOKEN"

func checkNoToken(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"?", "token", "SECRETTOKEN"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q of the query", err, s)
		}
	}
}

// receiver is a merchant's webhook endpoint on 127.0.0.1: it records what
// it receives and answers by path.
type receiver struct {
	*httptest.Server
	conns   atomic.Int64
	release chan struct{}
	mu      sync.Mutex
	got     []*http.Request
	bodies  [][]byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hooks", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 10*webhook.MaxRecorded))
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("y"), webhook.MaxRecorded))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-rc.release:
		case <-r.Context().Done():
		}
	})
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, r.Clone(context.Background()))
		rc.bodies = append(rc.bodies, body)
		rc.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	rc.Start()
	t.Cleanup(rc.Close)
	t.Cleanup(func() { close(rc.release) })
	return rc
}

func (rc *receiver) requests() ([]*http.Request, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*http.Request(nil), rc.got...), append([][]byte(nil), rc.bodies...)
}

func post(url string) paygate.WebhookPost {
	return paygate.WebhookPost{URL: url, ID: "evt_01test", Timestamp: 1772366400,
		Signature: "v1,AAAA v1,BBBB", Body: []byte(`{"id":"evt_01test","type":"payment.captured"}`)}
}

func TestPost(t *testing.T) {
	rc := newReceiver(t)
	p := &webhook.Poster{AllowPrivate: true}
	res, err := p.Post(context.Background(), post(rc.URL+"/hooks"+token))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || !res.OK() || string(res.Body) != "ok" || res.ContentType != "text/plain" {
		t.Errorf("got %d %q %q, want 200 text/plain \"ok\"", res.Status, res.ContentType, res.Body)
	}
	reqs, bodies := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "paygate",
		"webhook-id":        "evt_01test",
		"webhook-timestamp": "1772366400",
		"webhook-signature": "v1,AAAA v1,BBBB",
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s: got %q, want [%q]", k, got, v)
		}
	}
	if r.Method != "POST" || r.URL.Path != "/hooks" || "?"+r.URL.RawQuery != token {
		t.Errorf("got %s %s?%s, want POST /hooks%s", r.Method, r.URL.Path, r.URL.RawQuery, token)
	}
	if string(bodies[0]) != string(post("").Body) {
		t.Errorf("got body %q, want %q", bodies[0], post("").Body)
	}
}

func TestPostAnswers(t *testing.T) {
	rc := newReceiver(t)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/gone", 410, "gone\n"},
		{"/redirect", 307, ""},
		{"/long", 200, strings.Repeat("x", webhook.MaxRecorded)},
		{"/exact", 200, strings.Repeat("y", webhook.MaxRecorded)},
		{"/missing", 404, "404 page not found\n"},
	}
	p := &webhook.Poster{AllowPrivate: true}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := p.Post(context.Background(), post(rc.URL+tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || string(res.Body) != tt.body {
				t.Errorf("got %d %q (%d bytes), want %d %q", res.Status, shorten(res.Body), len(res.Body), tt.status, shorten([]byte(tt.body)))
			}
			if res.OK() != (tt.status/100 == 2) {
				t.Errorf("got OK %v for %d", res.OK(), res.Status)
			}
		})
	}
	reqs, _ := rc.requests()
	for _, r := range reqs {
		if r.URL.Path == "/hooks" {
			t.Error("the redirect was followed")
		}
	}
}

func shorten(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "…"
	}
	return string(b)
}

func TestPostRefused(t *testing.T) {
	rc := newReceiver(t)
	var passed []string
	webhook.SetDialHook(t, func(address string) error {
		passed = append(passed, address)
		return errors.New("test: the guard let this address through")
	})
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	tests := []struct {
		url  string
		want string
	}{
		{"http://127.0.0.1:" + port + "/hooks", "refused: 127.0.0.1 is a loopback address"},
		{"http://localhost:" + port + "/hooks", "is a loopback address"},
		{"http://[::1]:" + port + "/hooks", "refused: ::1 is a loopback address"},
		{"https://10.1.2.3/hooks", "refused: 10.1.2.3 is a private address"},
		{"http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a link-local address"},
		{"http://[::ffff:192.168.0.1]/hooks", "is a private address"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			passed = nil
			p := &webhook.Poster{Timeout: 5 * time.Second}
			res, err := p.Post(context.Background(), post(tt.url+token))
			if err == nil {
				t.Fatalf("got %d, want an error", res.Status)
			}
			if want := "POST " + tt.url + ": refused: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to start %q and say %q", err, want, tt.want)
			}
			var ae *webhook.AddrError
			if !errors.As(err, &ae) {
				t.Errorf("got %T, want an *AddrError inside", err)
			}
			checkNoToken(t, err)
			if len(passed) != 0 {
				t.Errorf("the guard let %v through", passed)
			}
		})
	}
	if n := rc.conns.Load(); n != 0 {
		t.Errorf("the receiver accepted %d connections, want 0", n)
	}
}

func TestPostFails(t *testing.T) {
	rc := newReceiver(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name string
		url  string
		want string
		is   error
	}{
		{"no answer", rc.URL + "/slow", "POST " + rc.URL + "/slow: timed out after 200ms", context.DeadlineExceeded},
		{"connection refused", closedURL + "/hooks", "POST " + closedURL + "/hooks: dial tcp", nil},
		{"not http", "ftp://127.0.0.1/hooks", "POST ftp://127.0.0.1/hooks: only http and https URLs can be posted to", nil},
		{"no host", "https:///hooks", "POST https:///hooks: the URL has no host", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &webhook.Poster{AllowPrivate: true, Timeout: 200 * time.Millisecond}
			res, err := p.Post(context.Background(), post(tt.url+token))
			if err == nil {
				t.Fatalf("got %d %q, want an error", res.Status, res.Body)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q, want it to start %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to wrap %v", err, tt.is)
			}
			checkNoToken(t, err)
		})
	}
}

func TestPostCanceled(t *testing.T) {
	// A canceled post says so; and the poster's own timeout is the one post-backs promise.
	rc := newReceiver(t)
	p := &webhook.Poster{AllowPrivate: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Post(ctx, post(rc.URL+"/hooks"+token))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	checkNoToken(t, err)
	if got := webhook.PosterTimeout(p); got != paygate.WebhookTimeout {
		t.Errorf("got a timeout of %s, want %s", got, paygate.WebhookTimeout)
	}
}

func TestPosterNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	for _, p := range []*webhook.Poster{{}, {AllowPrivate: true}} {
		if webhook.PosterTransport(p).Proxy != nil {
			t.Errorf("AllowPrivate %v: got a Proxy function, want none (the proxy would dial unguarded)", p.AllowPrivate)
		}
	}
}
