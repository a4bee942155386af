package main

import (
	"context"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// merchantRow is a merchant as a store holds it, written by column group
// as the real stores write it; between a read and the next write, another
// writer changes it (concurrent).
type merchantRow struct {
	stored     paygate.Merchant
	concurrent func(*paygate.Merchant)
	by         string // who the last settings write named
}

func (r *merchantRow) store() *mock.MerchantStore {
	return &mock.MerchantStore{
		MerchantFn: func(_ context.Context, id string) (*paygate.Merchant, error) {
			if id != r.stored.ID {
				return nil, paygate.Errorf(paygate.ENOTFOUND, "No such merchant: %s.", id)
			}
			cp := r.stored
			r.concurrent(&r.stored)
			return &cp, nil
		},
		UpdateMerchantFn: func(_ context.Context, m *paygate.Merchant) error {
			r.stored = *m
			return nil
		},
		UpdateSettingsFn: func(_ context.Context, m *paygate.Merchant, by string, _ time.Time) error {
			r.by = by
			r.stored.AllowedOrigins, r.stored.SuccessURL, r.stored.DeclineURL, r.stored.CancelURL = m.AllowedOrigins, m.SuccessURL, m.DeclineURL, m.CancelURL
			r.stored.DefaultModel, r.stored.DisplayName, r.stored.LogoURL = m.DefaultModel, m.DisplayName, m.LogoURL
			r.stored.RequireAck, r.stored.AckWindow = m.RequireAck, m.AckWindow
			return nil
		},
		UpdateRateLimitFn: func(_ context.Context, m *paygate.Merchant) error {
			r.stored.RateLimit = m.RateLimit
			return nil
		},
	}
}

// merchant update writes only what its flags name, so a write of the other
// columns between its read and its write stays: the merchant's own POST
// /v1/settings is not undone by an operator's --rate-limit, nor the other
// way round.
func TestUpdateMerchantKeepsConcurrentWrites(t *testing.T) {
	origins := []string{"https://shop.example.com"}
	display, success := "The Shop", "https://shop.example.com/paid"
	limit := 300
	tests := []struct {
		name       string
		rateLimit  *int
		u          paygate.SettingsUpdate
		concurrent func(*paygate.Merchant)
		check      func(t *testing.T, got paygate.Merchant)
	}{
		{"settings only, a rate limit meanwhile", nil, paygate.SettingsUpdate{DisplayName: &display},
			func(m *paygate.Merchant) { m.RateLimit = 300 },
			func(t *testing.T, got paygate.Merchant) {
				if got.RateLimit != 300 || got.DisplayName != display {
					t.Errorf("got rate limit %d, display name %q; want 300, %q", got.RateLimit, got.DisplayName, display)
				}
			}},
		{"rate limit only, settings meanwhile", &limit, paygate.SettingsUpdate{},
			func(m *paygate.Merchant) { m.SuccessURL = success },
			func(t *testing.T, got paygate.Merchant) {
				if got.RateLimit != 300 || got.SuccessURL != success {
					t.Errorf("got rate limit %d, success URL %q; want 300, %q", got.RateLimit, got.SuccessURL, success)
				}
			}},
		{"both, a rename meanwhile", &limit, paygate.SettingsUpdate{DisplayName: &display},
			func(m *paygate.Merchant) { m.Name = "Shop Ltd" },
			func(t *testing.T, got paygate.Merchant) {
				if got.RateLimit != 300 || got.DisplayName != display || got.Name != "Shop Ltd" {
					t.Errorf("got rate limit %d, display name %q, name %q; want 300, %q, \"Shop Ltd\"", got.RateLimit, got.DisplayName, got.Name, display)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &merchantRow{stored: paygate.Merchant{ID: "acct_1", Name: "Shop", RateLimit: 10, AllowedOrigins: origins},
				concurrent: tt.concurrent}
			if _, err := updateMerchant(t.Context(), r.store(), "acct_1", tt.rateLimit, tt.u); err != nil {
				t.Fatal(err)
			}
			tt.check(t, r.stored)
			if want := map[bool]string{true: "cli"}[tt.u != (paygate.SettingsUpdate{})]; r.by != want {
				t.Errorf("settings written as made by %q, want %q", r.by, want)
			}
		})
	}
}
