package paygate_test

import (
	"testing"

	"github.com/paygate/paygate"
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
