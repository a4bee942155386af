package paygate_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// hookEnv is a gateway with post-backs on the in-memory stores, a fixed
// clock and a poster that records what it is asked to post and answers as
// the test says.
type hookEnv struct {
	g      *paygate.Gateway
	store  *memHooks
	clock  *paygate.FixedClock
	m      *paygate.Merchant
	mu     sync.Mutex
	posts  []paygate.WebhookPost
	answer func(p paygate.WebhookPost) (*paygate.FetchResult, error)
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{store: newMemHooks(), clock: paygate.NewFixedClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		m: &paygate.Merchant{ID: "acct_test"}}
	e.answer = func(paygate.WebhookPost) (*paygate.FetchResult, error) {
		return &paygate.FetchResult{Status: 200, Body: []byte("ok")}, nil
	}
	e.g = e.gateway()
	return e
}

// gateway returns another gateway (node) on e's stores and clock.
func (e *hookEnv) gateway() *paygate.Gateway {
	g := paygate.NewGateway()
	g.Clock, g.Vault, g.Events, g.Webhooks = e.clock, mock.ReversibleVault(), e.store, e.store
	g.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g.Poster = posterFunc(func(ctx context.Context, p paygate.WebhookPost) (*paygate.FetchResult, error) {
		e.mu.Lock()
		e.posts = append(e.posts, p)
		answer := e.answer
		e.mu.Unlock()
		return answer(p)
	})
	return g
}

func (e *hookEnv) setAnswer(status int, body string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.answer = func(paygate.WebhookPost) (*paygate.FetchResult, error) {
		if err != nil {
			return nil, err
		}
		return &paygate.FetchResult{Status: status, Body: []byte(body)}, nil
	}
}

func (e *hookEnv) takePosts() []paygate.WebhookPost {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.posts
	e.posts = nil
	return p
}

func (e *hookEnv) mustEndpoint(t *testing.T, url string, events ...string) (*paygate.WebhookEndpoint, string) {
	t.Helper()
	ep, secret, err := e.g.CreateEndpoint(context.Background(), e.m, url, events)
	if err != nil {
		t.Fatal(err)
	}
	return ep, secret
}

// mustEvent writes the event of a payment reaching status, as a payment
// store would.
func (e *hookEnv) mustEvent(t *testing.T, status paygate.PaymentStatus) *paygate.Event {
	t.Helper()
	p := &paygate.Payment{ID: paygate.NewID("pay", e.clock.Now()), MerchantID: e.m.ID, Status: status, Amount: 1999,
		IdempotencyKey: "cs_test/2"}
	evs := paygate.PaymentEvents(p, nil, e.clock.Now())
	if len(evs) != 1 {
		t.Fatalf("got %d events for %s, want 1", len(evs), status)
	}
	if err := e.store.CreateEvent(context.Background(), evs[0]); err != nil {
		t.Fatal(err)
	}
	return evs[0]
}

func (e *hookEnv) mustDeliver(t *testing.T, g *paygate.Gateway, want int) {
	t.Helper()
	n, err := g.DeliverWebhooks(context.Background())
	if err != nil || n != want {
		t.Fatalf("DeliverWebhooks: %d, %v; want %d", n, err, want)
	}
}

// verifySW checks a webhook-signature value the way the Standard Webhooks
// specification says a receiver does, written here from its text:
// base64(HMAC-SHA256(base64-decoded secret after "whsec_", id.ts.body)),
// "v1," before it, one of the space-separated values.
func verifySW(secret, id string, ts int64, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Split(header, " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func TestDeliverWebhook(t *testing.T) {
	e := newHookEnv(t)
	ep, secret := e.mustEndpoint(t, "https://shop.example.com/hooks?token=abc")
	ev := e.mustEvent(t, paygate.StatusCaptured)
	e.setAnswer(200, "thanks", nil)
	e.mustDeliver(t, e.g, 1)

	posts := e.takePosts()
	if len(posts) != 1 {
		t.Fatalf("got %d posts, want 1", len(posts))
	}
	p := posts[0]
	if p.URL != ep.URL || p.ID != ev.ID || p.Timestamp != e.clock.Now().Unix() || string(p.Body) != string(ev.Data) {
		t.Errorf("got %s id %s ts %d body %s, want %s id %s ts %d body %s", p.URL, p.ID, p.Timestamp, p.Body,
			ep.URL, ev.ID, e.clock.Now().Unix(), ev.Data)
	}
	if !verifySW(secret, p.ID, p.Timestamp, p.Body, p.Signature) {
		t.Errorf("signature %q does not verify with the endpoint's secret", p.Signature)
	}
	if n := len(strings.Fields(p.Signature)); n != 1 {
		t.Errorf("got %d signatures, want 1 (no rotation)", n)
	}
	d := e.store.delivery(ev.ID + "." + ep.ID)
	if d.Status != paygate.WebhookDelivered || d.Attempts != 1 {
		t.Errorf("got delivery %s after %d attempts, want delivered after 1", d.Status, d.Attempts)
	}
	as := e.store.attemptsOf(d.ID)
	if len(as) != 1 || as[0].Status != 200 || as[0].Response != "thanks" || as[0].Error != "" || !as[0].At.Equal(e.clock.Now()) {
		t.Errorf("got attempts %+v, want one: 200 \"thanks\" at %s", as, e.clock.Now())
	}
	// Delivered: never again.
	e.clock.Add(48 * time.Hour)
	e.mustDeliver(t, e.g, 0)
}

// The retry schedule: each failure is tried again after WebhookRetries[n]
// plus at most 10%, not before; after the last, the delivery fails. The
// endpoint turns failing after EndpointFailingAfter failures in a row.
func TestDeliverWebhookRetries(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	ev := e.mustEvent(t, paygate.StatusAuthorized)
	e.setAnswer(503, "down for maintenance", nil)
	id := ev.ID + "." + ep.ID
	for i := range len(paygate.WebhookRetries) + 1 {
		e.mustDeliver(t, e.g, 1)
		at := e.clock.Now()
		d := e.store.delivery(id)
		if d.Attempts != i+1 {
			t.Fatalf("after attempt %d: got %d attempts", i+1, d.Attempts)
		}
		got := e.store.endpoint(ep.ID)
		wantStatus := paygate.EndpointEnabled
		if i+1 >= paygate.EndpointFailingAfter {
			wantStatus = paygate.EndpointFailing
		}
		if got.Status != wantStatus || got.Failures != i+1 || got.LastError != "the endpoint answered HTTP 503" {
			t.Errorf("after attempt %d: endpoint %s, %d failures, %q; want %s, %d, \"the endpoint answered HTTP 503\"",
				i+1, got.Status, got.Failures, got.LastError, wantStatus, i+1)
		}
		if i == len(paygate.WebhookRetries) {
			if d.Status != paygate.WebhookFailed {
				t.Fatalf("after the last attempt: got %s, want failed", d.Status)
			}
			break
		}
		r := paygate.WebhookRetries[i]
		if d.Status != paygate.WebhookPending || d.NextAt.Before(at.Add(r)) || d.NextAt.After(at.Add(r+r/10)) {
			t.Fatalf("after attempt %d: got %s next at +%s, want pending at +%s to +%s", i+1, d.Status, d.NextAt.Sub(at), r, r+r/10)
		}
		// Not due a moment before.
		e.clock.Add(d.NextAt.Sub(at) - time.Microsecond)
		e.mustDeliver(t, e.g, 0)
		e.clock.Add(time.Microsecond)
	}
	if as := e.store.attemptsOf(id); len(as) != len(paygate.WebhookRetries)+1 || as[0].Response != "down for maintenance" || as[0].Status != 503 {
		t.Errorf("got %d attempts (first %+v), want %d with status 503", len(as), as[0], len(paygate.WebhookRetries)+1)
	}
	e.clock.Add(30 * 24 * time.Hour)
	e.mustDeliver(t, e.g, 0)
	if n := len(e.takePosts()); n != len(paygate.WebhookRetries)+1 {
		t.Errorf("got %d posts, want %d", n, len(paygate.WebhookRetries)+1)
	}

	// The schedule spans at least 3 days, as promised.
	var total time.Duration
	for _, r := range paygate.WebhookRetries {
		total += r
	}
	if total < 72*time.Hour {
		t.Errorf("the retries span %s, want at least 3 days", total)
	}
}

// A 2xx after failures makes a failing endpoint enabled again, failures 0.
func TestDeliverWebhookResets(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	e.setAnswer(0, "", errors.New("POST https://shop.example.com/hooks: dial tcp: connection refused"))
	for range paygate.EndpointFailingAfter {
		e.mustEvent(t, paygate.StatusCaptured)
	}
	e.mustDeliver(t, e.g, paygate.EndpointFailingAfter)
	got := e.store.endpoint(ep.ID)
	if got.Status != paygate.EndpointFailing || got.Failures != paygate.EndpointFailingAfter ||
		got.LastError != "POST https://shop.example.com/hooks: dial tcp: connection refused" {
		t.Fatalf("got %s, %d failures, %q; want failing after %d, the poster's error", got.Status, got.Failures, got.LastError, paygate.EndpointFailingAfter)
	}
	for _, a := range e.store.attempts {
		if a.Status != 0 || a.Error == "" {
			t.Errorf("got an attempt %+v, want status 0 and the error", a)
		}
	}
	// Failing endpoints still get their deliveries.
	e.setAnswer(204, "", nil)
	e.clock.Add(paygate.WebhookRetries[0] + paygate.WebhookRetries[0]/10)
	e.mustDeliver(t, e.g, paygate.EndpointFailingAfter)
	got = e.store.endpoint(ep.ID)
	if got.Status != paygate.EndpointEnabled || got.Failures != 0 || got.LastError != "" {
		t.Errorf("after a 2xx: got %s, %d failures, %q; want enabled, 0, \"\"", got.Status, got.Failures, got.LastError)
	}
	// An enabled, healthy endpoint is not rewritten after each delivery.
	before := e.store.updates
	e.mustEvent(t, paygate.StatusCaptured)
	e.mustDeliver(t, e.g, 1)
	if e.store.updates != before {
		t.Errorf("got %d endpoint updates for a delivery to a healthy endpoint, want 0", e.store.updates-before)
	}
}

// A 410 Gone disables the endpoint: that delivery fails, the others are
// claimed no more, and new events make none.
func TestDeliverWebhookGone(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	other, _ := e.mustEndpoint(t, "https://crm.example.com/hooks")
	ev := e.mustEvent(t, paygate.StatusCaptured)
	e.mu.Lock()
	e.answer = func(p paygate.WebhookPost) (*paygate.FetchResult, error) {
		if strings.HasPrefix(p.URL, "https://shop.") {
			return &paygate.FetchResult{Status: http.StatusGone}, nil
		}
		return &paygate.FetchResult{Status: 200}, nil
	}
	e.mu.Unlock()
	e.mustDeliver(t, e.g, 2)
	if d := e.store.delivery(ev.ID + "." + ep.ID); d.Status != paygate.WebhookFailed || d.Attempts != 1 {
		t.Errorf("got %s after %d attempts, want failed after 1", d.Status, d.Attempts)
	}
	got := e.store.endpoint(ep.ID)
	if got.Status != paygate.EndpointDisabled || !strings.Contains(got.LastError, "410 Gone") {
		t.Errorf("got endpoint %s %q, want disabled, saying 410 Gone", got.Status, got.LastError)
	}
	if got := e.store.endpoint(other.ID); got.Status != paygate.EndpointEnabled {
		t.Errorf("the other endpoint is %s, want enabled", got.Status)
	}
	e.takePosts()
	e.mustEvent(t, paygate.StatusVoided)
	e.mustDeliver(t, e.g, 1)
	if posts := e.takePosts(); len(posts) != 1 || !strings.HasPrefix(posts[0].URL, "https://crm.") {
		t.Errorf("got posts %v, want one, to the other endpoint", posts)
	}
}

// Retries spread out: of many deliveries failing at once, each is due
// again within 10% after its schedule.
func TestDeliverWebhookJitter(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	var evs []*paygate.Event
	for range paygate.WebhookBatch {
		evs = append(evs, e.mustEvent(t, paygate.StatusCaptured))
	}
	e.setAnswer(500, "", nil)
	e.clock.Add(time.Minute) // all due
	e.mustDeliver(t, e.g, paygate.WebhookBatch)
	at, r := e.clock.Now(), paygate.WebhookRetries[0]
	for _, ev := range evs {
		d := e.store.delivery(ev.ID + "." + ep.ID)
		if wait := d.NextAt.Sub(at); wait < r || wait > r+r/10 {
			t.Errorf("got the next attempt in %s, want %s to %s", wait, r, r+r/10)
		}
	}
}

// A node whose lease ran out while it posted records nothing: the node that
// took the delivery over counts.
func TestDeliverWebhookFenced(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	ev := e.mustEvent(t, paygate.StatusCaptured)
	id := ev.ID + "." + ep.ID

	entered, release := make(chan struct{}), make(chan struct{})
	slow := e.gateway()
	slow.Poster = posterFunc(func(ctx context.Context, p paygate.WebhookPost) (*paygate.FetchResult, error) {
		close(entered)
		<-release
		return &paygate.FetchResult{Status: 500}, nil
	})
	done := make(chan error)
	go func() {
		_, err := slow.DeliverWebhooks(context.Background())
		done <- err
	}()
	<-entered
	e.clock.Add(paygate.WebhookLease) // the lease has run out: another node takes the delivery
	e.mustDeliver(t, e.g, 1)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d := e.store.delivery(id)
	if d.Status != paygate.WebhookDelivered || d.Attempts != 1 {
		t.Errorf("got %s after %d attempts, want delivered after 1 (the late node's 500 not recorded)", d.Status, d.Attempts)
	}
	if as := e.store.attemptsOf(id); len(as) != 1 || as[0].Status != 200 {
		t.Errorf("got attempts %+v, want the one 200", as)
	}
	if got := e.store.endpoint(ep.ID); got.Failures != 0 || got.Status != paygate.EndpointEnabled {
		t.Errorf("got endpoint %s with %d failures, want enabled with 0", got.Status, got.Failures)
	}
}

// A node that stops while it posts records nothing: the delivery stays
// claimed until its lease ends, then another node makes the attempt.
func TestDeliverWebhookStopping(t *testing.T) {
	e := newHookEnv(t)
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	ev := e.mustEvent(t, paygate.StatusCaptured)
	ctx, cancel := context.WithCancel(context.Background())
	stopping := e.gateway()
	stopping.Poster = posterFunc(func(ctx context.Context, p paygate.WebhookPost) (*paygate.FetchResult, error) {
		cancel()
		return nil, ctx.Err()
	})
	if n, err := stopping.DeliverWebhooks(ctx); n != 1 || err != nil {
		t.Fatalf("got %d, %v; want 1", n, err)
	}
	id := ev.ID + "." + ep.ID
	if d := e.store.delivery(id); d.Attempts != 0 || d.Status != paygate.WebhookPending {
		t.Fatalf("got %s after %d attempts, want pending after 0", d.Status, d.Attempts)
	}
	e.mustDeliver(t, e.g, 0)
	e.clock.Add(paygate.WebhookLease)
	e.mustDeliver(t, e.g, 1)
	if d := e.store.delivery(id); d.Status != paygate.WebhookDelivered || d.Attempts != 1 {
		t.Errorf("got %s after %d attempts, want delivered after 1", d.Status, d.Attempts)
	}
}

// What an attempt keeps of the answer: its first 1 KiB, as valid text.
func TestDeliverWebhookResponse(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
		err    string
	}{
		{"long", 500, strings.Repeat("é", 1000), strings.Repeat("é", 512), "the endpoint answered HTTP 500"},
		{"cut in a character", 500, "x" + strings.Repeat("é", 1000), "x" + strings.Repeat("é", 511) + "\uFFFD", "the endpoint answered HTTP 500"},
		{"binary", 400, "a\x00b\xffc", "ab\uFFFDc", "the endpoint answered HTTP 400"},
		{"redirect", 302, "", "", "the endpoint answered HTTP 302: redirects are not followed; register the URL it redirects to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newHookEnv(t)
			ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
			ev := e.mustEvent(t, paygate.StatusCaptured)
			e.setAnswer(tt.status, tt.body, nil)
			e.mustDeliver(t, e.g, 1)
			as := e.store.attemptsOf(ev.ID + "." + ep.ID)
			if len(as) != 1 || as[0].Response != tt.want || as[0].Error != tt.err || as[0].Status != tt.status {
				t.Errorf("got %+v, want status %d, response %q, error %q", as, tt.status, tt.want, tt.err)
			}
		})
	}
}

// During a rotation's overlap each post carries the new and the old
// secret's signatures; after it, the new one's only.
func TestDeliverWebhookRotation(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	ep, old := e.mustEndpoint(t, "https://shop.example.com/hooks")
	got, secret, err := e.g.RotateEndpointSecret(ctx, e.m, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if secret == old || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("got secret %q, want a new whsec_ one", secret)
	}
	if want := e.clock.Now().Add(paygate.WebhookSecretOverlap); !got.PrevExpiresAt.Equal(want) {
		t.Errorf("got the old secret expiring at %s, want %s", got.PrevExpiresAt, want)
	}
	e.mustEvent(t, paygate.StatusCaptured)
	e.mustDeliver(t, e.g, 1)
	p := e.takePosts()[0]
	sigs := strings.Fields(p.Signature)
	if len(sigs) != 2 || !verifySW(secret, p.ID, p.Timestamp, p.Body, sigs[0]) || !verifySW(old, p.ID, p.Timestamp, p.Body, sigs[1]) {
		t.Errorf("got %q, want the new secret's signature, then the old one's", p.Signature)
	}
	e.clock.Add(paygate.WebhookSecretOverlap)
	e.mustEvent(t, paygate.StatusCaptured)
	e.mustDeliver(t, e.g, 1)
	p = e.takePosts()[0]
	if sigs := strings.Fields(p.Signature); len(sigs) != 1 || !verifySW(secret, p.ID, p.Timestamp, p.Body, sigs[0]) {
		t.Errorf("after the overlap: got %q, want the new secret's signature alone", p.Signature)
	}
	if verifySW(old, p.ID, p.Timestamp, p.Body, p.Signature) {
		t.Error("after the overlap the old secret still verifies")
	}
}

func TestCreateEndpoint(t *testing.T) {
	tests := []struct {
		url    string
		events []string
		want   []string // the events kept
		err    string   // "": accepted
	}{
		{"https://shop.example.com/hooks", nil, []string{"*"}, ""},
		{"https://shop.example.com:8443/hooks?token=abc", []string{"*"}, []string{"*"}, ""},
		{"http://localhost:8080/hooks", []string{"payment.captured", "payment.refunded", "payment.captured"},
			[]string{"payment.captured", "payment.refunded"}, ""},
		{"http://127.0.0.1:9/hooks", []string{"session.completed"}, []string{"session.completed"}, ""},
		{"http://[::1]:9/hooks", nil, []string{"*"}, ""},
		{"", nil, nil, "URL is required"},
		{"http://shop.example.com/hooks", nil, nil, "must be an absolute https URL"},
		{"https://user:pass@shop.example.com/hooks", nil, nil, "without a user or password"},
		{"ftp://shop.example.com/hooks", nil, nil, "must be an absolute https URL"},
		{"/hooks", nil, nil, "must be an absolute https URL"},
		{"https://shop.example.com/hooks#top", nil, nil, "must not have a fragment"},
		{"https://shop.example.com/" + strings.Repeat("a", 2000), nil, nil, "at most 2000 characters"},
		{"https://shop.example.com/hooks", []string{"payment.bogus"}, nil, `Event type "payment.bogus" is not one of`},
		{"https://shop.example.com/hooks", []string{"*", "payment.captured"}, nil, `Events must be ["*"] alone`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			e := newHookEnv(t)
			ep, secret, err := e.g.CreateEndpoint(context.Background(), e.m, tt.url, tt.events)
			if tt.err != "" {
				var pe *paygate.Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Message, tt.err) {
					t.Fatalf("got %v, want a *paygate.Error saying %q", err, tt.err)
				}
				if n := len(e.store.order); n != 0 {
					t.Errorf("%d endpoints stored, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.URL != tt.url || !slices.Equal(ep.Events, tt.want) || ep.Status != paygate.EndpointEnabled || !strings.HasPrefix(ep.ID, "we_") {
				t.Errorf("got %s %s %v %s, want we_... %s %v enabled", ep.ID, ep.URL, ep.Events, ep.Status, tt.url, tt.want)
			}
			key, err := paygate.SigningKey(secret)
			if err != nil || len(key) != 32 {
				t.Errorf("got secret %q (%v), want whsec_ and 32 bytes", secret, err)
			}
			stored := e.store.endpoint(ep.ID)
			if strings.Contains(string(stored.Secret.Ciphertext), secret) {
				t.Error("the secret is stored in the clear")
			}
			if opened, _ := e.g.Vault.Open(stored.Secret); opened != secret {
				t.Error("the stored secret does not open to the one returned")
			}
		})
	}
}

// The host of an endpoint's URL is checked when it is registered.
func TestCreateEndpointCheckTarget(t *testing.T) {
	e := newHookEnv(t)
	var hosts []string
	e.g.CheckTarget = func(_ context.Context, host string) error {
		hosts = append(hosts, host)
		if host == "internal.example.com" {
			return errors.New("refused: 10.0.0.5 is a private address")
		}
		return nil
	}
	_, _, err := e.g.CreateEndpoint(context.Background(), e.m, "https://internal.example.com:8443/hooks", nil)
	var pe *paygate.Error
	if !errors.As(err, &pe) || pe.Param != "url" || pe.Message != "URL cannot take post-backs: refused: 10.0.0.5 is a private address." {
		t.Errorf("got %v, want the refusal on url", err)
	}
	if _, _, err := e.g.CreateEndpoint(context.Background(), e.m, "https://shop.example.com/hooks", nil); err != nil {
		t.Errorf("a public host: %v", err)
	}
	if want := []string{"internal.example.com", "shop.example.com"}; !slices.Equal(hosts, want) {
		t.Errorf("checked %v, want %v", hosts, want)
	}
}

func TestCreateEndpointLimit(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	var first *paygate.WebhookEndpoint
	for i := range paygate.MaxWebhookEndpoints {
		ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks/"+strconv.Itoa(i))
		if first == nil {
			first = ep
		}
	}
	if _, _, err := e.g.CreateEndpoint(ctx, e.m, "https://shop.example.com/more", nil); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Fatalf("got %v, want %s", err, paygate.ECONFLICT)
	}
	if _, err := e.g.DeleteEndpoint(ctx, e.m, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.g.CreateEndpoint(ctx, e.m, "https://shop.example.com/more", nil); err != nil {
		t.Errorf("after a delete: %v", err)
	}
}

// Only endpoints that take an event's type get it; a deleted endpoint's
// deliveries stop.
func TestDeleteEndpoint(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	captures, _ := e.mustEndpoint(t, "https://shop.example.com/captures", paygate.EventPaymentCaptured)
	all, _ := e.mustEndpoint(t, "https://shop.example.com/all")
	e.mustEvent(t, paygate.StatusDeclined)
	e.setAnswer(500, "", nil)
	e.mustDeliver(t, e.g, 1) // to "all" only
	if posts := e.takePosts(); len(posts) != 1 || posts[0].URL != all.URL {
		t.Fatalf("got %v, want one post to %s", posts, all.URL)
	}
	got, err := e.g.DeleteEndpoint(ctx, e.m, all.ID)
	if err != nil || got.Status != paygate.EndpointDisabled {
		t.Fatalf("got %v, %v; want disabled", got, err)
	}
	if again, err := e.g.DeleteEndpoint(ctx, e.m, all.ID); err != nil || again.Status != paygate.EndpointDisabled {
		t.Errorf("deleting again: %v, %v; want disabled", again, err)
	}
	e.clock.Add(time.Hour)
	e.mustDeliver(t, e.g, 0)
	e.mustEvent(t, paygate.StatusCaptured)
	e.mustDeliver(t, e.g, 1)
	if posts := e.takePosts(); len(posts) != 1 || posts[0].URL != captures.URL {
		t.Errorf("got %v, want one post to %s", posts, captures.URL)
	}
	if _, _, err := e.g.RotateEndpointSecret(ctx, e.m, all.ID); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("rotating a disabled endpoint's secret: got %v, want %s", err, paygate.ECONFLICT)
	}
	if _, err := e.g.DeleteEndpoint(ctx, &paygate.Merchant{ID: "acct_other"}, captures.ID); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("another merchant's endpoint: got %v, want %s", err, paygate.ENOTFOUND)
	}
}

func TestRedeliver(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	ep, _ := e.mustEndpoint(t, "https://shop.example.com/hooks")
	ev := e.mustEvent(t, paygate.StatusCaptured)
	e.mustDeliver(t, e.g, 1)
	e.clock.Add(time.Hour)
	list, err := e.g.Redeliver(ctx, e.m, ev.ID)
	if err != nil || len(list) != 1 || list[0].EndpointID != ep.ID || list[0].Status != paygate.WebhookPending {
		t.Fatalf("got %v, %v; want the delivery to %s, pending", list, err, ep.ID)
	}
	e.mustDeliver(t, e.g, 1)
	ds, as, err := e.g.EventDeliveries(ctx, e.m, ev.ID)
	if err != nil || len(ds) != 1 || ds[0].Status != paygate.WebhookDelivered || len(as) != 2 {
		t.Errorf("got %v, %d attempts, %v; want delivered, 2 attempts", ds, len(as), err)
	}
	if _, err := e.g.DeleteEndpoint(ctx, e.m, ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Redeliver(ctx, e.m, ev.ID); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("with no endpoint: got %v, want %s", err, paygate.ECONFLICT)
	}
	other := &paygate.Merchant{ID: "acct_other"}
	if _, err := e.g.Redeliver(ctx, other, ev.ID); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("another merchant's event: got %v, want %s", err, paygate.ENOTFOUND)
	}
	if _, _, err := e.g.EventDeliveries(ctx, other, ev.ID); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("another merchant's deliveries: got %v, want %s", err, paygate.ENOTFOUND)
	}
}

func TestListEvents(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	for range 3 {
		e.mustEvent(t, paygate.StatusCaptured)
		e.clock.Add(time.Millisecond)
	}
	list, more, err := e.g.ListEvents(ctx, e.m, paygate.EventFilter{Limit: 2})
	if err != nil || len(list) != 2 || !more {
		t.Fatalf("got %d, more %v, %v; want 2 and more", len(list), more, err)
	}
	rest, more, err := e.g.ListEvents(ctx, e.m, paygate.EventFilter{StartingAfter: list[1].ID})
	if err != nil || len(rest) != 1 || more {
		t.Errorf("got %d, more %v, %v; want the last 1", len(rest), more, err)
	}
	for _, f := range []paygate.EventFilter{{Limit: 101}, {Limit: -1}, {Type: "payment.bogus"}, {StartingAfter: "evt_nope"}} {
		if _, _, err := e.g.ListEvents(ctx, e.m, f); paygate.ErrorCode(err) == paygate.EINTERNAL || err == nil {
			t.Errorf("%+v: got %v, want a *paygate.Error", f, err)
		}
	}
}
