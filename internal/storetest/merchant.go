package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var merchantTests = []test{
	{"CreateGet", testMerchantCreateGet},
	{"NotFound", testMerchantNotFound},
	{"List", testMerchantList},
	{"Update", testMerchantUpdate},
	{"Settings", testMerchantSettings},
	{"UpdateSettings", testMerchantUpdateSettings},
	{"UpdateRateLimit", testMerchantUpdateRateLimit},
}

func testMerchantCreateGet(t *testing.T, s Stores) {
	m := NewMerchant(t, "Acme Tickets", Base)
	if err := s.Merchants.CreateMerchant(t.Context(), m); err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	got, err := s.Merchants.Merchant(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	CheckEqual(t, "Merchant", got, m)
}

func testMerchantNotFound(t *testing.T, s Stores) {
	MustCreateMerchant(t, s.Merchants, "Acme")
	_, err := s.Merchants.Merchant(t.Context(), paygate.NewID("acct", Base))
	checkCode(t, "Merchant(unknown)", err, paygate.ENOTFOUND)

	m := NewMerchant(t, "Ghost", Base)
	checkCode(t, "UpdateMerchant(unknown)", s.Merchants.UpdateMerchant(t.Context(), m), paygate.ENOTFOUND)
	if _, err := s.Merchants.Merchant(t.Context(), m.ID); err == nil {
		t.Errorf("Merchant after UpdateMerchant(unknown): got the merchant, want it not to exist")
	}
}

func testMerchantList(t *testing.T, s Stores) {
	if list, err := s.Merchants.Merchants(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("Merchants on an empty store: got %d merchants, %v; want none", len(list), err)
	}
	var want []*paygate.Merchant
	for i, name := range []string{"Alpha", "Bravo", "Charlie"} {
		m := NewMerchant(t, name, Base.Add(time.Duration(i)*time.Minute))
		if err := s.Merchants.CreateMerchant(t.Context(), m); err != nil {
			t.Fatalf("CreateMerchant(%s): %v", name, err)
		}
		want = append(want, m)
	}
	got, err := s.Merchants.Merchants(t.Context())
	if err != nil {
		t.Fatalf("Merchants: %v", err)
	}
	CheckEqual(t, "Merchants", got, want)
}

func testMerchantUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")

	m.Name, m.Email, m.RequireAck, m.AckWindow, m.MCC = "Acme Events", "ops@acme.example", false, 5*time.Minute, "7922"
	m.RateLimit = 300
	if err := s.Merchants.UpdateMerchant(t.Context(), m); err != nil {
		t.Fatalf("UpdateMerchant: %v", err)
	}
	got, err := s.Merchants.Merchant(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	CheckEqual(t, "Merchant after update", got, m)

	gotOther, err := s.Merchants.Merchant(t.Context(), other.ID)
	if err != nil {
		t.Fatalf("Merchant(other): %v", err)
	}
	CheckEqual(t, "other merchant after update", gotOther, other)
}

// testMerchantSettings round-trips the browser models' settings: set,
// changed, and cleared again.
func testMerchantSettings(t *testing.T, s Stores) {
	bare, err := paygate.NewMerchant("Bare", "", Base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Merchants.CreateMerchant(t.Context(), bare); err != nil {
		t.Fatalf("CreateMerchant(no settings): %v", err)
	}
	got, err := s.Merchants.Merchant(t.Context(), bare.ID)
	if err != nil {
		t.Fatalf("Merchant(no settings): %v", err)
	}
	CheckEqual(t, "merchant with no settings", got, bare)
	if got.Model() != paygate.ModelRedirect {
		t.Errorf("Model() of a merchant with no settings: got %q, want %q", got.Model(), paygate.ModelRedirect)
	}

	m, other := NewMerchant(t, "Acme", Base.Add(time.Second)), NewMerchant(t, "Other", Base.Add(2*time.Second))
	for _, x := range []*paygate.Merchant{m, other} {
		if err := s.Merchants.CreateMerchant(t.Context(), x); err != nil {
			t.Fatalf("CreateMerchant(%s): %v", x.Name, err)
		}
	}
	origins := []string{"https://acme.example", "https://pay.acme.example:8443"}
	str := func(v string) *string { return &v }
	tests := []struct {
		name string
		u    paygate.SettingsUpdate
	}{
		{"changed", paygate.SettingsUpdate{AllowedOrigins: &origins, SuccessURL: str("https://acme.example/ok?x=1&y='2'"),
			DeclineURL: str("https://pay.acme.example:8443/no"), CancelURL: str("https://acme.example/back"),
			DefaultModel: str(paygate.ModelRedirect), DisplayName: str("Acme \"Tickets\" – Zürich"), LogoURL: str("https://acme.example/logo.svg")}},
		{"cleared", paygate.SettingsUpdate{AllowedOrigins: &[]string{}, SuccessURL: str(""), DeclineURL: str(""),
			CancelURL: str(""), DefaultModel: str(""), DisplayName: str(""), LogoURL: str("")}},
	}
	for _, tt := range tests {
		if err := m.ApplySettings(tt.u); err != nil {
			t.Fatalf("%s: ApplySettings: %v", tt.name, err)
		}
		if err := s.Merchants.UpdateMerchant(t.Context(), m); err != nil {
			t.Fatalf("%s: UpdateMerchant: %v", tt.name, err)
		}
		got, err := s.Merchants.Merchant(t.Context(), m.ID)
		if err != nil {
			t.Fatalf("%s: Merchant: %v", tt.name, err)
		}
		CheckEqual(t, tt.name+": Merchant", got, m)
		list, err := s.Merchants.Merchants(t.Context())
		if err != nil {
			t.Fatalf("%s: Merchants: %v", tt.name, err)
		}
		CheckEqual(t, tt.name+": Merchants", list, []*paygate.Merchant{bare, m, other})
	}
}

// testMerchantUpdateSettings: UpdateSettings writes the settings columns
// and only them, so a copy read before another write (an operator's rate
// limit) leaves that write in place.
func testMerchantUpdateSettings(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	stale := *m

	m.RateLimit, m.Name, m.Email, m.MCC = 300, "Acme Events", "ops@acme.example", "7922"
	if err := s.Merchants.UpdateMerchant(t.Context(), m); err != nil {
		t.Fatalf("UpdateMerchant: %v", err)
	}
	stale.AllowedOrigins = []string{"https://acme.example"}
	stale.SuccessURL, stale.DeclineURL, stale.CancelURL = "https://acme.example/ok", "https://acme.example/no", ""
	stale.DefaultModel, stale.DisplayName, stale.LogoURL = paygate.ModelRedirect, "Acme", ""
	stale.RequireAck, stale.AckWindow = false, 3*time.Minute
	stale.RateLimit, stale.Name, stale.Email, stale.MCC = 1, "Stale", "stale@example.com", "0000"
	if err := s.Merchants.UpdateSettings(t.Context(), &stale, "key_test", Base); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	want := *m
	want.AllowedOrigins, want.SuccessURL, want.DeclineURL, want.CancelURL = stale.AllowedOrigins, stale.SuccessURL, stale.DeclineURL, stale.CancelURL
	want.DefaultModel, want.DisplayName, want.LogoURL = stale.DefaultModel, stale.DisplayName, stale.LogoURL
	want.RequireAck, want.AckWindow = stale.RequireAck, stale.AckWindow
	got, err := s.Merchants.Merchant(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	CheckEqual(t, "Merchant after UpdateSettings from a stale copy", got, &want)
	if got.RateLimit != 300 {
		t.Errorf("rate limit after UpdateSettings from a stale copy: got %d, want 300 (as UpdateMerchant set it)", got.RateLimit)
	}
	gotOther, err := s.Merchants.Merchant(t.Context(), other.ID)
	if err != nil {
		t.Fatalf("Merchant(other): %v", err)
	}
	CheckEqual(t, "other merchant after UpdateSettings", gotOther, other)

	ghost := NewMerchant(t, "Ghost", Base)
	checkCode(t, "UpdateSettings(unknown)", s.Merchants.UpdateSettings(t.Context(), ghost, "key_test", Base), paygate.ENOTFOUND)
	if _, err := s.Merchants.Merchant(t.Context(), ghost.ID); err == nil {
		t.Errorf("Merchant after UpdateSettings(unknown): got the merchant, want it not to exist")
	}
}

// testMerchantUpdateRateLimit: UpdateRateLimit writes the rate limit alone,
// so a copy read before a settings update leaves those settings in place.
func testMerchantUpdateRateLimit(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	stale := *m

	m.SuccessURL, m.DisplayName, m.RequireAck = "http://localhost:8080/ok", "Acme Tickets", false
	if err := s.Merchants.UpdateSettings(t.Context(), m, "key_test", Base); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	stale.RateLimit = 7
	if err := s.Merchants.UpdateRateLimit(t.Context(), &stale); err != nil {
		t.Fatalf("UpdateRateLimit: %v", err)
	}
	want := *m
	want.RateLimit = 7
	got, err := s.Merchants.Merchant(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	CheckEqual(t, "Merchant after UpdateRateLimit from a stale copy", got, &want)

	checkCode(t, "UpdateRateLimit(unknown)", s.Merchants.UpdateRateLimit(t.Context(), NewMerchant(t, "Ghost", Base)), paygate.ENOTFOUND)
}

var apiKeyTests = []test{
	{"CreateLookup", testAPIKeyCreateLookup},
	{"List", testAPIKeyList},
	{"Revoke", testAPIKeyRevoke},
}

func mustCreateAPIKey(tb testing.TB, s paygate.MerchantStore, merchantID, kind string, at time.Time) (string, *paygate.APIKey) {
	tb.Helper()
	plain, k := paygate.NewAPIKey(merchantID, kind, at)
	k.Name = "Checkout server · " + kind // a name round-trips (migration 0013)
	if err := s.CreateAPIKey(tb.Context(), k); err != nil {
		tb.Fatalf("CreateAPIKey: %v", err)
	}
	return plain, k
}

func testAPIKeyCreateLookup(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	plain, k := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeySecret, Base)
	_, pk := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeyPublishable, Base.Add(time.Second))

	got, err := s.Merchants.APIKeyByHash(t.Context(), paygate.HashAPIKey(plain))
	if err != nil {
		t.Fatalf("APIKeyByHash: %v", err)
	}
	CheckEqual(t, "APIKeyByHash", got, k)
	if got.Revoked() {
		t.Errorf("new key: got revoked at %s, want active", got.RevokedAt)
	}

	got, err = s.Merchants.APIKeyByHash(t.Context(), pk.Hash)
	if err != nil {
		t.Fatalf("APIKeyByHash(publishable): %v", err)
	}
	CheckEqual(t, "APIKeyByHash(publishable)", got, pk)

	_, err = s.Merchants.APIKeyByHash(t.Context(), paygate.HashAPIKey("sk_unknown"))
	checkCode(t, "APIKeyByHash(unknown)", err, paygate.ENOTFOUND)
}

func testAPIKeyList(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	_, k1 := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeySecret, Base)
	mustCreateAPIKey(t, s.Merchants, other.ID, paygate.KeySecret, Base.Add(time.Second))
	_, k2 := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeyPublishable, Base.Add(2*time.Second))

	got, err := s.Merchants.APIKeys(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("APIKeys: %v", err)
	}
	CheckEqual(t, "APIKeys", got, []*paygate.APIKey{k1, k2})

	got, err = s.Merchants.APIKeys(t.Context(), paygate.NewID("acct", Base))
	if err != nil || len(got) != 0 {
		t.Errorf("APIKeys(unknown merchant): got %d keys, %v; want none, nil", len(got), err)
	}
}

func testAPIKeyRevoke(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	_, k := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeySecret, Base)
	_, keep := mustCreateAPIKey(t, s.Merchants, m.ID, paygate.KeySecret, Base.Add(time.Second))

	first, second := Base.Add(time.Hour), Base.Add(2*time.Hour)
	if err := s.Merchants.RevokeAPIKey(t.Context(), k.ID, first); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if err := s.Merchants.RevokeAPIKey(t.Context(), k.ID, second); err != nil {
		t.Fatalf("RevokeAPIKey again: %v", err)
	}
	got, err := s.Merchants.APIKeyByHash(t.Context(), k.Hash)
	if err != nil {
		t.Fatalf("APIKeyByHash: %v", err)
	}
	if !got.Revoked() || !got.RevokedAt.Equal(first.Truncate(time.Microsecond)) {
		t.Errorf("RevokedAt after revoking twice: got %s, want the first time %s", fmtTime(got.RevokedAt), fmtTime(first))
	}

	list, err := s.Merchants.APIKeys(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("APIKeys: %v", err)
	}
	i := slices.IndexFunc(list, func(x *paygate.APIKey) bool { return x.ID == keep.ID })
	if i < 0 {
		t.Fatalf("APIKeys: got %d keys without %s, want it listed", len(list), keep.ID)
	}
	if list[i].Revoked() {
		t.Errorf("untouched key: got revoked at %s, want active", fmtTime(list[i].RevokedAt))
	}

	checkCode(t, "RevokeAPIKey(unknown)", s.Merchants.RevokeAPIKey(t.Context(), paygate.NewID("key", Base), first), paygate.ENOTFOUND)
}
