package http_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAccessKeyAPI(t *testing.T) { gatewaytest.Engines(t, testAccessKeyAPI) }

// testAccessKeyAPI: POST /v1/settings/api_accesskey answers a new key
// once, never under an Idempotency-Key; the settings list the keys in force
// (the replaced ones until their overlap ends), never their values.
func testAccessKeyAPI(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	ctx := context.Background()
	set, err := c.Settings(ctx)
	if err != nil || len(set.AccessKeys) != 0 {
		t.Fatalf("settings of a new merchant: %+v, %v; want no access keys", set, err)
	}
	first, err := c.RotateAccessKey(ctx)
	if err != nil || !uuidRe.MatchString(first) {
		t.Fatalf("RotateAccessKey: got %q, %v; want a random UUID", first, err)
	}
	var keys []string
	for range 2 {
		st, body := do(t, g, "POST", "/v1/settings/api_accesskey", g.SecretKey, "", "Idempotency-Key", "rotate-1")
		k, _ := body["api_accesskey"].(string)
		if st != 200 || body["object"] != "api_accesskey" || !uuidRe.MatchString(k) || !strings.HasPrefix(fmt.Sprint(body["id"]), "ak_") {
			t.Fatalf("POST /v1/settings/api_accesskey: got %d %v", st, body)
		}
		keys = append(keys, k)
	}
	if keys[0] == keys[1] || keys[0] == first {
		t.Errorf("the same Idempotency-Key made %q then %q: want a new key each time (a key is never kept to be replayed)", keys[0], keys[1])
	}
	set, err = c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.AccessKeys) != 3 || set.AccessKeys[0].ExpiresAt != nil || set.AccessKeys[1].ExpiresAt == nil || set.AccessKeys[2].ExpiresAt == nil {
		t.Errorf("after three rotations: keys %+v; want 3, the newest current, the others expiring", set.AccessKeys)
	}
	st, body := do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	for _, k := range append(keys, first) {
		if st != 200 || strings.Contains(fmt.Sprint(body), k) {
			t.Errorf("GET /v1/settings shows an access key: %v", body)
		}
		if strings.Contains(string(g.Logs.Bytes()), k) {
			t.Errorf("the logs hold an access key")
		}
	}
	g.Clock.Advance(paygate.AccessKeyOverlap + time.Minute)
	if set, err = c.Settings(ctx); err != nil || len(set.AccessKeys) != 1 {
		t.Errorf("after the overlap: keys %+v, %v; want only the newest", set.AccessKeys, err)
	}
}

func TestSettingsHistory(t *testing.T) { gatewaytest.Engines(t, testSettingsHistory) }

// testSettingsHistory: each change of the global success or decline URL
// is recorded with the API key that made it; other settings are not.
func testSettingsHistory(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	ctx := context.Background()
	keyID := func(plain string) string {
		t.Helper()
		k, err := g.Merchants.APIKeyByHash(ctx, paygate.HashAPIKey(plain))
		if err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	c := g.Client()
	other := g.MustCreateKey(t, g.Merchant.ID, paygate.KeySecret)
	c2 := client.New(g.URL(), other)

	if _, err := c.UpdateSettings(ctx, client.SettingsUpdate{AllowedOrigins: &[]string{shop}, SuccessURL: new(shop + "/paid"),
		DisplayName: new("Shop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.UpdateSettings(ctx, client.SettingsUpdate{DeclineURL: new(shop + "/declined"), SuccessURL: new(shop + "/thanks")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateSettings(ctx, client.SettingsUpdate{DisplayName: new("Shop Ltd"), SuccessURL: new(shop + "/thanks")}); err != nil {
		t.Fatal(err) // no URL changes
	}
	list, err := c.SettingsHistory(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ field, old, new, by string }
	var got []change
	for _, ch := range list {
		got = append(got, change{ch.Field, ch.Old, ch.New, ch.ChangedBy})
		if ch.ID == "" || ch.ChangedAt.IsZero() {
			t.Errorf("change %+v has no id or time", ch)
		}
	}
	want := []change{
		{"success_url", shop + "/paid", shop + "/thanks", keyID(other)},
		{"decline_url", "", shop + "/declined", keyID(other)},
		{"success_url", "", shop + "/paid", keyID(g.SecretKey)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history:\ngot  %v\nwant %v", got, want)
	}
	if list, err := c.SettingsHistory(ctx, 1); err != nil || len(list) != 1 || list[0].New != shop+"/thanks" {
		t.Errorf("history, limit 1: got %+v, %v; want the newest change", list, err)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?from=1"} {
		st, body := do(t, g, "GET", "/v1/settings/history"+q, g.SecretKey, "")
		if st != 400 {
			t.Errorf("GET /v1/settings/history%s: got %d %v, want 400", q, st, body)
		}
	}
}
