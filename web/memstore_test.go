package web_test

// In-memory stores for the browser models, until the SQLite and PostgreSQL
// ones are on main.

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

type memSessions struct {
	mu   sync.Mutex
	byID map[string]paygate.Session
}

func newMemSessions() *memSessions { return &memSessions{byID: map[string]paygate.Session{}} }

func (s *memSessions) CreateSession(ctx context.Context, sess *paygate.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.byID {
		if sess.FormKey != "" && o.MerchantID == sess.MerchantID && o.FormKey == sess.FormKey {
			return paygate.ErrDuplicate
		}
	}
	sess.Version = 1
	s.byID[sess.ID] = *sess
	return nil
}

func (s *memSessions) Session(ctx context.Context, merchantID, id string) (*paygate.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byID[id]
	if !ok || (merchantID != "" && o.MerchantID != merchantID) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such session: %s.", id)
	}
	return &o, nil
}

func (s *memSessions) SessionByFormKey(ctx context.Context, merchantID, formKey string) (*paygate.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.byID {
		if o.MerchantID == merchantID && o.FormKey == formKey {
			return &o, nil
		}
	}
	return nil, paygate.Errorf(paygate.ENOTFOUND, "No such session.")
}

func (s *memSessions) UpdateSession(ctx context.Context, sess *paygate.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byID[sess.ID]
	if !ok {
		return paygate.Errorf(paygate.ENOTFOUND, "No such session.")
	}
	if o.Version != sess.Version {
		return paygate.ErrVersionConflict
	}
	sess.Version++
	s.byID[sess.ID] = *sess
	return nil
}

type memSigning struct {
	mu   sync.Mutex
	list []paygate.SigningSecret
}

func (s *memSigning) RotateSigningSecret(ctx context.Context, sec *paygate.SigningSecret, retireAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if s.list[i].MerchantID == sec.MerchantID && s.list[i].ExpiresAt.IsZero() {
			s.list[i].ExpiresAt = retireAt
		}
	}
	s.list = append(s.list, *sec)
	return nil
}

func (s *memSigning) SigningSecrets(ctx context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*paygate.SigningSecret
	for _, o := range s.list {
		if o.MerchantID == merchantID && (o.ExpiresAt.IsZero() || o.ExpiresAt.After(now)) {
			out = append(out, &o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

type memDeliveries struct {
	mu   sync.Mutex
	list []paygate.Delivery
}

func (s *memDeliveries) CreateDelivery(ctx context.Context, d *paygate.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if o.SessionID == d.SessionID {
			return paygate.ErrDuplicate
		}
	}
	s.list = append(s.list, *d)
	return nil
}

func (s *memDeliveries) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*paygate.Delivery
	for i := range s.list {
		if len(out) < limit && s.list[i].Status == paygate.DeliveryPending && !s.list[i].NextAt.After(now) {
			s.list[i].NextAt = now.Add(lease)
			d := s.list[i]
			out = append(out, &d)
		}
	}
	return out, nil
}

func (s *memDeliveries) UpdateDelivery(ctx context.Context, d *paygate.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if s.list[i].ID == d.ID {
			s.list[i] = *d
			return nil
		}
	}
	return paygate.Errorf(paygate.ENOTFOUND, "No such delivery.")
}

func (s *memDeliveries) SessionDelivery(ctx context.Context, sessionID string) (*paygate.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if o.SessionID == sessionID {
			return &o, nil
		}
	}
	return nil, paygate.Errorf(paygate.ENOTFOUND, "No delivery for session %s.", sessionID)
}

// merchantSettings keeps the merchant's browser settings, which the
// merchant stores on main do not store yet.
type merchantSettings struct {
	paygate.MerchantStore
	mu       sync.Mutex
	settings map[string]paygate.Merchant
}

func (s *merchantSettings) Merchant(ctx context.Context, id string) (*paygate.Merchant, error) {
	m, err := s.MerchantStore.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.settings[id]; ok {
		m.AllowedOrigins, m.SuccessURL, m.DeclineURL, m.CancelURL = o.AllowedOrigins, o.SuccessURL, o.DeclineURL, o.CancelURL
		m.DefaultModel, m.DisplayName, m.LogoURL = o.DefaultModel, o.DisplayName, o.LogoURL
	}
	return m, nil
}

func (s *merchantSettings) UpdateMerchant(ctx context.Context, m *paygate.Merchant) error {
	s.mu.Lock()
	if s.settings == nil {
		s.settings = map[string]paygate.Merchant{}
	}
	s.settings[m.ID] = *m
	s.mu.Unlock()
	return s.MerchantStore.UpdateMerchant(ctx, m)
}
