package paygate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// Seed 003's published examples.
const (
	seedAccount = "123456789012"
	seedKey     = "e6f157d2-66cf-43d5-8a56-c4c57d5760d7"
	seedTime    = "1360870400"
	seedSuccess = "https://www.example.com/success.aspx"
	seedDecline = "https://www.example.com/decline.aspx"
)

func seedForm(extra ...string) url.Values {
	f := url.Values{"account_id": {seedAccount}, "timestamp": {seedTime}, "success_url": {seedSuccess}, "decline_url": {seedDecline}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// TestTRHashSeedExamples: seed 003's two examples, exactly as printed
// (", " before decline_url), are known-answer vectors; the plain spelling's
// hash was computed apart (Python's hashlib).
func TestTRHashSeedExamples(t *testing.T) {
	for _, tt := range []struct {
		name      string
		form      url.Values
		hashKey   string
		asPrinted bool
		text      string
		hash      string
	}{
		{"example 1", seedForm(), "", true,
			"123456789012,e6f157d2-66cf-43d5-8a56-c4c57d5760d7,1360870400,https://www.example.com/success.aspx, https://www.example.com/decline.aspx",
			"b6814a1818a0f7b3fdd0e58cd601be17be2dc5495be81279704079b6079a1ecc"},
		{"example 2", seedForm("transaction_amount", "123.00"), "transaction_amount", true,
			"123456789012,e6f157d2-66cf-43d5-8a56-c4c57d5760d7,1360870400,https://www.example.com/success.aspx, https://www.example.com/decline.aspx,123.00",
			"3e19dacbc92fa9b1a88ce8d57c7493f374a44de35ea0b4405b7f111fb20d26d9"},
		{"example 1, plain commas", seedForm(), "", false,
			"123456789012,e6f157d2-66cf-43d5-8a56-c4c57d5760d7,1360870400,https://www.example.com/success.aspx,https://www.example.com/decline.aspx",
			"5c70100f25a48b1fb442f1e6e163048661b47255fafbffb17adefbe81db3fc02"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			names, err := paygate.ParseHashKey(tt.hashKey)
			if err != nil {
				t.Fatal(err)
			}
			text := paygate.TRHashString(tt.form, seedKey, names, tt.asPrinted)
			if text != tt.text {
				t.Errorf("hash string:\ngot  %q\nwant %q", text, tt.text)
			}
			if got := paygate.TRHash(text); got != tt.hash {
				t.Errorf("hash: got %s, want %s", got, tt.hash)
			}
		})
	}
}

func TestParseHashKey(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		bad  string // in the error's message
	}{
		{"", nil, ""},
		{"transaction_amount", []string{"transaction_amount"}, ""},
		{"transaction_amount, transaction_type ,order_id", []string{"transaction_amount", "transaction_type", "order_id"}, ""},
		{"order_id,transaction_amount", []string{"order_id", "transaction_amount"}, ""},
		{"transaction_amount,,order_id", nil, "empty name"},
		{"card_number", nil, "card fields"},
		{"card_verification", nil, "card fields"},
		{"api_accesskey", nil, "not one of"},
		{"success_url", nil, "not one of"},
		{"transaction_amount,transaction_amount", nil, "twice"},
	} {
		got, err := paygate.ParseHashKey(tt.in)
		switch {
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad) || paygate.ErrorCode(err) != paygate.EFORBIDDEN):
			t.Errorf("ParseHashKey(%q): got %v, %v; want an EFORBIDDEN error saying %q", tt.in, got, err, tt.bad)
		case tt.bad == "" && (err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|")):
			t.Errorf("ParseHashKey(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// trEnv is a gateway with stores in memory enough for the checks that come
// before a payment is made: a merchant, its access key and signing
// secret, and the events it records.
type trEnv struct {
	g      *paygate.Gateway
	m      *paygate.Merchant
	key    string
	clock  *fixedClock
	events *recordedEvents
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

type recordedEvents struct {
	paygate.EventStore
	mu   sync.Mutex
	list []*paygate.Event
}

func (s *recordedEvents) CreateEvent(_ context.Context, e *paygate.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, e)
	return nil
}

type memAccessKeys struct {
	mu   sync.Mutex
	list []*paygate.AccessKey
}

func (s *memAccessKeys) RotateAccessKey(_ context.Context, k *paygate.AccessKey, retireAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if o.MerchantID == k.MerchantID && o.ExpiresAt.IsZero() {
			o.ExpiresAt = retireAt
		}
	}
	s.list = append([]*paygate.AccessKey{k}, s.list...)
	return nil
}

func (s *memAccessKeys) AccessKeys(_ context.Context, merchantID string, now time.Time) ([]*paygate.AccessKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*paygate.AccessKey
	for _, k := range s.list {
		if k.MerchantID == merchantID && (k.ExpiresAt.IsZero() || k.ExpiresAt.After(now)) {
			out = append(out, k)
		}
	}
	return out, nil
}

func newTREnv(t *testing.T) *trEnv {
	t.Helper()
	m := &paygate.Merchant{ID: "acct_1", Name: "Shop", AllowedOrigins: []string{"https://shop.example.com"}}
	e := &trEnv{m: m, clock: &fixedClock{time.Unix(1772366400, 0).UTC()}, events: &recordedEvents{}}
	e.g = &paygate.Gateway{Clock: e.clock, Vault: mock.ReversibleVault(), SigningSecrets: &sigSecrets{},
		AccessKeys: &memAccessKeys{}, Events: e.events, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Merchants: &mock.MerchantStore{MerchantFn: func(_ context.Context, id string) (*paygate.Merchant, error) {
			if id != m.ID {
				return nil, paygate.Errorf(paygate.ENOTFOUND, "No such merchant.")
			}
			cp := *m
			return &cp, nil
		}},
		// A form that verifies looks for its payment first: none.
		Payments: &noPayments{},
	}
	if _, err := e.g.RotateSigningSecret(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	_, key, err := e.g.RotateAccessKey(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	e.key = key
	return e
}

// form returns a form hashed with key (the plain spelling), hash_key
// naming names.
func (e *trEnv) form(key string, names []string, kv ...string) url.Values {
	f := url.Values{"account_id": {e.m.ID}, "timestamp": {ts(e.clock.t)},
		"success_url": {"https://shop.example.com/ok"}, "decline_url": {"https://shop.example.com/no"},
		"transaction_type": {"SALE"}, "transaction_amount": {"19.99"}, "order_id": {"order-1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	if len(names) > 0 {
		f.Set("hash_key", strings.Join(names, ","))
	}
	f.Set("hash", paygate.TRHash(paygate.TRHashString(f, key, names, false)))
	return f
}

func ts(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// noPayments is a payment store with no payments, that takes none.
type noPayments struct{ paygate.PaymentStore }

func (noPayments) PaymentByIdempotencyKey(context.Context, string, string) (*paygate.Payment, error) {
	return nil, paygate.Errorf(paygate.ENOTFOUND, "No such payment.")
}

// TestTransparentRedirectRefused: a form that cannot be trusted is refused
// before anything is looked up for a payment, with an error that names the
// field but nothing of the key.
func TestTransparentRedirectRefused(t *testing.T) {
	e := newTREnv(t)
	all := []string{"transaction_amount", "transaction_type", "order_id"}
	for _, tt := range []struct {
		name  string
		form  func() url.Values
		code  string
		param string
	}{
		{"no account", func() url.Values { f := e.form(e.key, all); f.Del("account_id"); return f }, paygate.EFORBIDDEN, "account_id"},
		{"unknown account", func() url.Values { f := e.form(e.key, all); f.Set("account_id", "acct_2"); return f }, paygate.EFORBIDDEN, "account_id"},
		{"no hash", func() url.Values { f := e.form(e.key, all); f.Del("hash"); return f }, paygate.EFORBIDDEN, "hash"},
		{"hashed with another key", func() url.Values { return e.form(paygate.NewAccessKeyText(), all) }, paygate.EFORBIDDEN, "hash"},
		{"tampered amount under the hash", func() url.Values {
			f := e.form(e.key, all)
			f.Set("transaction_amount", "0.01")
			return f
		}, paygate.EFORBIDDEN, "hash"},
		{"tampered order under the hash", func() url.Values {
			f := e.form(e.key, all)
			f.Set("order_id", "order-2")
			return f
		}, paygate.EFORBIDDEN, "hash"},
		{"hash_key reordered", func() url.Values {
			f := e.form(e.key, all)
			f.Set("hash_key", "transaction_type,transaction_amount,order_id")
			return f
		}, paygate.EFORBIDDEN, "hash"},
		{"hash_key shortened", func() url.Values {
			f := e.form(e.key, all)
			f.Set("hash_key", "transaction_amount,transaction_type")
			return f
		}, paygate.EFORBIDDEN, "hash"},
		{"tampered success URL", func() url.Values {
			f := e.form(e.key, all)
			f.Set("success_url", "https://shop.example.com/other")
			return f
		}, paygate.EFORBIDDEN, "hash"},
		{"decline URL removed", func() url.Values { f := e.form(e.key, all); f.Del("decline_url"); return f }, paygate.EFORBIDDEN, "hash"},
		{"timestamp changed", func() url.Values {
			f := e.form(e.key, all)
			f.Set("timestamp", ts(e.clock.t.Add(time.Second)))
			return f
		}, paygate.EFORBIDDEN, "hash"},
		// A comma in a URL could move a hashed value into it: with hash_key
		// cleared, "…/ok,19.99" hashes as the form whose amount was 19.99.
		{"amount moved into the URL", func() url.Values {
			f := e.form(e.key, []string{"transaction_amount"}, "decline_url", "")
			f.Set("success_url", "https://shop.example.com/ok,19.99")
			f.Del("hash_key")
			f.Set("transaction_amount", "0.01")
			return f
		}, paygate.EFORBIDDEN, "success_url"},
		{"amount moved into the description", func() url.Values {
			f := e.form(e.key, []string{"transaction_amount", "transaction_description"}, "transaction_description", "Mug")
			f.Set("transaction_description", "19.99,Mug")
			f.Set("hash_key", "transaction_description")
			f.Set("transaction_amount", "0.01")
			return f
		}, paygate.EFORBIDDEN, "transaction_description"},
		{"a control character in a hashed value", func() url.Values {
			return e.form(e.key, all, "order_id", "order-1\x1b")
		}, paygate.EFORBIDDEN, "order_id"},
		{"card field under the hash", func() url.Values { f := e.form(e.key, all); f.Set("hash_key", "card_number"); return f }, paygate.EFORBIDDEN, "hash_key"},
		{"a field twice", func() url.Values {
			f := e.form(e.key, all)
			f.Add("transaction_amount", "0.01")
			return f
		}, paygate.EINVALID, "transaction_amount"},
		{"foreign success URL", func() url.Values { return e.form(e.key, all, "success_url", "https://evil.example/ok") }, paygate.EINVALID, "success_url"},
		{"foreign decline URL", func() url.Values { return e.form(e.key, all, "decline_url", "https://evil.example/no") }, paygate.EINVALID, "decline_url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.g.TransparentRedirect(t.Context(), tt.form())
			var pe *paygate.Error
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Param != tt.param {
				t.Fatalf("got %v, %v; want a %s error on %s", res, err, tt.code, tt.param)
			}
			if strings.Contains(pe.Message, e.key) {
				t.Errorf("the error shows the access key: %s", pe.Message)
			}
			if res != nil && res.URL != "" {
				t.Errorf("a refused form sends the browser to %s", res.URL)
			}
		})
	}
}

// TestTransparentRedirectVerified: a form hashed with the key in force, in
// either spelling of seed 003, passes the hash and is looked up for its
// payment; so does one hashed with the key it replaced, during the
// overlap, and not after.
func TestTransparentRedirectVerified(t *testing.T) {
	e := newTREnv(t)
	all := []string{"transaction_amount", "transaction_type", "order_id"}
	pass := func(name string, f url.Values) {
		t.Helper()
		// The payment store takes no payment: getting that far is passing
		// the checks (the card is not valid, so no payment is tried).
		f.Set("card_number", "4242")
		res, err := e.g.TransparentRedirect(t.Context(), f)
		if err != nil || res == nil || res.Err == nil || res.URL == "" {
			t.Errorf("%s: got %+v, %v; want a result with the card's error, to the decline URL", name, res, err)
			return
		}
		if !strings.HasPrefix(res.URL, "https://shop.example.com/no?") {
			t.Errorf("%s: result to %s, want the decline URL", name, res.URL)
		}
	}
	pass("plain", e.form(e.key, all))
	pass("hash in capitals", func() url.Values {
		f := e.form(e.key, all)
		f.Set("hash", strings.ToUpper(f.Get("hash")))
		return f
	}())
	printed := e.form(e.key, all)
	printed.Set("hash", paygate.TRHash(paygate.TRHashString(printed, e.key, all, true)))
	pass("as printed in seed 003", printed)
	pass("no hash_key", e.form(e.key, nil))

	old := e.key
	e.clock.t = e.clock.t.Add(time.Hour)
	if _, key, err := e.g.RotateAccessKey(t.Context(), e.m); err != nil {
		t.Fatal(err)
	} else {
		e.key = key
	}
	pass("new key", e.form(e.key, all))
	pass("old key in the overlap", e.form(old, all))
	e.clock.t = e.clock.t.Add(paygate.AccessKeyOverlap)
	if _, err := e.g.TransparentRedirect(t.Context(), e.form(old, all)); paygate.ErrorCode(err) != paygate.EFORBIDDEN {
		t.Errorf("old key after the overlap: got %v, want %s", err, paygate.EFORBIDDEN)
	}
}

// TestTransparentRedirectTimestamp: a form that verified but is too old,
// too far ahead or not 10 digits goes to the decline URL with the error,
// nothing charged.
func TestTransparentRedirectTimestamp(t *testing.T) {
	e := newTREnv(t)
	now := e.clock.t
	for _, tt := range []struct {
		name string
		ts   string
		ok   bool
	}{
		{"30 minutes old", ts(now.Add(-30 * time.Minute)), true},
		{"30 minutes and a second old", ts(now.Add(-30*time.Minute - time.Second)), false},
		{"5 minutes ahead", ts(now.Add(5 * time.Minute)), true},
		{"5 minutes and a second ahead", ts(now.Add(5*time.Minute + time.Second)), false},
		{"milliseconds", ts(now) + "000", false},
		{"9 digits", "999999999", false},
		{"not digits", "17723664OO", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := e.form(e.key, nil, "timestamp", tt.ts, "card_number", "4242")
			res, err := e.g.TransparentRedirect(t.Context(), f)
			if err != nil {
				t.Fatalf("got %v, want a result", err)
			}
			var pe *paygate.Error
			timestampErr := errors.As(res.Err, &pe) && pe.Param == "timestamp"
			if timestampErr == tt.ok {
				t.Errorf("got the error %v; want a timestamp error: %v", res.Err, !tt.ok)
			}
			if !strings.HasPrefix(res.URL, "https://shop.example.com/no?") {
				t.Errorf("result to %s, want the decline URL", res.URL)
			}
		})
	}
	// The lifetime is the gateway's to set.
	e.g.TRLifetime = time.Hour
	res, err := e.g.TransparentRedirect(t.Context(), e.form(e.key, nil, "timestamp", ts(now.Add(-45*time.Minute)), "card_number", "4242"))
	if err != nil || paygate.ErrorCode(res.Err) == paygate.EINVALID && strings.Contains(res.Err.Error(), "timestamp") {
		t.Errorf("45 minutes old with a 1 hour lifetime: got %v, %v; want no timestamp error", res, err)
	}
}

// TestTransparentRedirectAccessKeySent: the access key sent as a field is
// a Security Violation, recorded for the merchant, whatever else the form
// holds; the error never holds the value sent.
func TestTransparentRedirectAccessKeySent(t *testing.T) {
	e := newTREnv(t)
	for _, tt := range []struct {
		name, value, account, want string
	}{
		{"the key itself", e.key, e.m.ID, "api_accesskey sent in the form: it is one of the account's access keys, which must now be rotated"},
		{"something else", "not-the-key", e.m.ID, "api_accesskey sent in the form"},
		{"unknown account", e.key, "acct_2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.events.list = nil
			f := e.form(e.key, nil, "account_id", tt.account)
			f.Set("api_accesskey", tt.value)
			res, err := e.g.TransparentRedirect(t.Context(), f)
			if err != paygate.ErrTRSecurityViolation || res != nil && (res.URL != "" || res.Payment != nil) {
				t.Fatalf("got %+v, %v; want ErrTRSecurityViolation and no result", res, err)
			}
			if strings.Contains(err.Error(), tt.value) {
				t.Errorf("the error shows the value sent: %s", err)
			}
			if tt.want == "" {
				if len(e.events.list) != 0 {
					t.Errorf("recorded %d events for an unknown account, want none", len(e.events.list))
				}
				return
			}
			if len(e.events.list) != 1 {
				t.Fatalf("recorded %d events, want 1", len(e.events.list))
			}
			ev := e.events.list[0]
			if ev.Type != paygate.EventSecurityViolation || ev.MerchantID != e.m.ID || !strings.Contains(string(ev.Data), tt.want) {
				t.Errorf("event %s for %s: %s; want %s for %s saying %q", ev.Type, ev.MerchantID, ev.Data, paygate.EventSecurityViolation, e.m.ID, tt.want)
			}
			if strings.Contains(string(ev.Data), tt.value) {
				t.Errorf("the event holds the value sent: %s", ev.Data)
			}
		})
	}
}

// The gateway reads the independent vectors of the client's hidden fields
// (client/testdata/transparent_redirect.json) as they were hashed.
func TestTRHashVectors(t *testing.T) {
	data, err := os.ReadFile("client/testdata/transparent_redirect.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Hashes []struct {
			Name       string            `json:"name"`
			AccessKey  string            `json:"access_key"`
			HashString string            `json:"hash_string"`
			Fields     map[string]string `json:"fields"`
		} `json:"hashes"`
	}
	if err := json.Unmarshal(data, &vs); err != nil || len(vs.Hashes) == 0 {
		t.Fatalf("read vectors: %v (%d)", err, len(vs.Hashes))
	}
	for _, v := range vs.Hashes {
		form := url.Values{}
		for k, s := range v.Fields {
			form.Set(k, s)
		}
		names, err := paygate.ParseHashKey(form.Get("hash_key"))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got := paygate.TRHashString(form, v.AccessKey, names, false); got != v.HashString {
			t.Errorf("%s: hash string\ngot  %q\nwant %q", v.Name, got, v.HashString)
		}
		if got := paygate.TRHash(paygate.TRHashString(form, v.AccessKey, names, false)); got != form.Get("hash") {
			t.Errorf("%s: hash %s, want %s", v.Name, got, form.Get("hash"))
		}
	}
}
