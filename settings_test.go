package paygate_test

import (
	"context"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

func TestParseOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://shop.example.com", "https://shop.example.com"},
		{"https://Shop.Example.COM/", "https://shop.example.com"},
		{"https://shop.example.com:443", "https://shop.example.com"},
		{"https://shop.example.com:8443", "https://shop.example.com:8443"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://[::1]:9000", "http://[::1]:9000"},
		{"http://localhost:80", "http://localhost"},
		{"http://shop.example.com", ""},             // plain http off localhost
		{"https://shop.example.com/pay", ""},        // a path
		{"https://shop.example.com?x=1", ""},        // a query
		{"https://shop.example.com#top", ""},        // a fragment
		{"https://user@shop.example.com", ""},       // user info
		{"javascript:alert(1)", ""},                 // not http(s)
		{"ftp://shop.example.com", ""},              // not http(s)
		{"//shop.example.com", ""},                  // no scheme
		{"shop.example.com", ""},                    // no scheme
		{"https://", ""},                            // no host
		{"https://shop.example.com\\@evil.com", ""}, // a backslash
		{"https://shop example.com", ""},            // a space
	} {
		got, err := paygate.ParseOrigin(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseOrigin(%q) = %q, want an error", c.in, got)
			} else if paygate.ErrorCode(err) != paygate.EINVALID {
				t.Errorf("ParseOrigin(%q): got %v, want %s", c.in, err, paygate.EINVALID)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	m := &paygate.Merchant{AllowedOrigins: []string{"https://shop.example.com", "http://localhost:8081"}}
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://shop.example.com/paid", true},
		{"https://shop.example.com:443/paid?order=5", true},
		{"https://SHOP.example.com/paid", true},
		{"http://localhost:8081/return", true},
		{"http://localhost:8082/return", false},           // another port
		{"https://shop.example.com.evil.net/paid", false}, // a look-alike host
		{"https://evil.net/shop.example.com", false},
		{"https://shop.example.com@evil.net/", false}, // user info
		{"//evil.net/paid", false},                    // protocol-relative
		{"\\\\evil.net\\paid", false},                 // backslashes
		{"https:\\\\evil.net", false},
		{"javascript:alert(document.cookie)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"/paid", false},                             // relative
		{"http://shop.example.com/paid", false},      // downgraded to http
		{"https://shop.example.com/\r\nX: y", false}, // header injection
	} {
		err := m.CheckURL("return_url", c.url)
		if c.ok != (err == nil) {
			t.Errorf("CheckURL(%q): got %v, want ok=%v", c.url, err, c.ok)
		}
		if err != nil && (paygate.ErrorCode(err) != paygate.EINVALID || err.(*paygate.Error).Param != "return_url") {
			t.Errorf("CheckURL(%q): got %v, want %s on return_url", c.url, err, paygate.EINVALID)
		}
	}
}

func TestApplySettings(t *testing.T) {
	m := &paygate.Merchant{Name: "Shop"}
	origins := []string{"https://shop.example.com"}
	success, model := "https://shop.example.com/paid", "proxy"
	if err := m.ApplySettings(paygate.SettingsUpdate{AllowedOrigins: &origins, SuccessURL: &success, DefaultModel: &model}); err != nil {
		t.Fatal(err)
	}
	if m.SuccessURL != success || m.Model() != "proxy" || len(m.AllowedOrigins) != 1 {
		t.Fatalf("after an update: got %+v", m)
	}
	// An invalid update changes nothing, not even its valid fields.
	name, bad := "New name", "iframe"
	before := *m
	if err := m.ApplySettings(paygate.SettingsUpdate{DisplayName: &name, DefaultModel: &bad}); err == nil {
		t.Fatal("an unknown model was accepted")
	}
	if m.DisplayName != before.DisplayName || m.DefaultModel != before.DefaultModel {
		t.Errorf("a refused update changed the merchant: got %+v", m)
	}
	// Origins cannot be dropped from under a URL that uses them.
	none := []string{}
	if err := m.ApplySettings(paygate.SettingsUpdate{AllowedOrigins: &none}); err == nil {
		t.Error("dropping the origin of the success URL was accepted")
	}
	empty := ""
	if err := m.ApplySettings(paygate.SettingsUpdate{AllowedOrigins: &none, SuccessURL: &empty}); err != nil {
		t.Errorf("dropping the origin with the URL: %v", err)
	}
	if m.Title() != "Shop" {
		t.Errorf("Title without a display name: got %q", m.Title())
	}
}

// A merchant's settings update leaves the columns it does not own as
// another write set them between its read and its write: an operator's
// rate limit is not undone by the merchant's POST /v1/settings.
func TestGatewayUpdateSettingsKeepsOtherColumns(t *testing.T) {
	stored := paygate.Merchant{ID: "acct_1", Name: "Shop", RateLimit: 10, AllowedOrigins: []string{"https://shop.example.com"}}
	var settingsWrites int
	var by string
	store := &mock.MerchantStore{
		MerchantFn: func(_ context.Context, id string) (*paygate.Merchant, error) {
			if id != stored.ID {
				return nil, paygate.Errorf(paygate.ENOTFOUND, "No such merchant.")
			}
			cp := stored
			// paygate merchant update --rate-limit 300, at once.
			stored.RateLimit, stored.Name = 300, "Shop Ltd"
			return &cp, nil
		},
		UpdateMerchantFn: func(_ context.Context, m *paygate.Merchant) error { // every column
			stored = *m
			return nil
		},
		UpdateSettingsFn: func(_ context.Context, m *paygate.Merchant, changedBy string, _ time.Time) error { // the settings columns only
			settingsWrites++
			by = changedBy
			stored.AllowedOrigins, stored.SuccessURL, stored.DeclineURL, stored.CancelURL = m.AllowedOrigins, m.SuccessURL, m.DeclineURL, m.CancelURL
			stored.DefaultModel, stored.DisplayName, stored.LogoURL = m.DefaultModel, m.DisplayName, m.LogoURL
			stored.RequireAck, stored.AckWindow = m.RequireAck, m.AckWindow
			return nil
		},
	}
	g := &paygate.Gateway{Merchants: store, Clock: paygate.SystemClock{}}
	success, display := "https://shop.example.com/paid", "The Shop"
	got, err := g.UpdateSettings(t.Context(), "acct_1", paygate.SettingsUpdate{SuccessURL: &success, DisplayName: &display, By: "key_1"})
	if err != nil {
		t.Fatal(err)
	}
	if by != "key_1" {
		t.Errorf("the settings write names %q as who made it, want key_1 (for the URL change record)", by)
	}
	if got.SuccessURL != success || got.DisplayName != display {
		t.Errorf("returned: got success URL %q, display name %q; want %q, %q", got.SuccessURL, got.DisplayName, success, display)
	}
	if stored.RateLimit != 300 || stored.Name != "Shop Ltd" {
		t.Errorf("stored: got rate limit %d, name %q; want 300, \"Shop Ltd\" (the other write kept)", stored.RateLimit, stored.Name)
	}
	if stored.SuccessURL != success || stored.DisplayName != display || settingsWrites != 1 {
		t.Errorf("stored: got success URL %q, display name %q in %d settings writes; want %q, %q in 1",
			stored.SuccessURL, stored.DisplayName, settingsWrites, success, display)
	}

	// An invalid update writes nothing.
	bad := "https://elsewhere.example/paid"
	if _, err := g.UpdateSettings(t.Context(), "acct_1", paygate.SettingsUpdate{SuccessURL: &bad}); paygate.ErrorCode(err) != paygate.EINVALID {
		t.Errorf("a URL off the allowed origins: got %v, want %s", err, paygate.EINVALID)
	}
	if settingsWrites != 1 {
		t.Errorf("got %d settings writes after an invalid update, want 1", settingsWrites)
	}
}
