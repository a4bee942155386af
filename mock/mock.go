// Package mock has hand-written mocks of the domain's interfaces: each
// method calls the Fn field of the same name, so a test sets only what it
// needs (and a call to an unset Fn panics, naming the method).
package mock

import (
	"context"
	"time"

	"github.com/paygate/paygate"
)

// Acquirer mocks paygate.Acquirer.
type Acquirer struct {
	SendFn func(ctx context.Context, req paygate.NetworkRequest) (paygate.NetworkResponse, error)
}

var _ paygate.Acquirer = (*Acquirer)(nil)

// Send calls SendFn.
func (a *Acquirer) Send(ctx context.Context, req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
	return a.SendFn(ctx, req)
}

// MerchantStore mocks paygate.MerchantStore.
type MerchantStore struct {
	CreateMerchantFn  func(ctx context.Context, m *paygate.Merchant) error
	MerchantFn        func(ctx context.Context, id string) (*paygate.Merchant, error)
	MerchantsFn       func(ctx context.Context) ([]*paygate.Merchant, error)
	UpdateMerchantFn  func(ctx context.Context, m *paygate.Merchant) error
	UpdateSettingsFn  func(ctx context.Context, m *paygate.Merchant, by string, at time.Time) error
	URLChangesFn      func(ctx context.Context, merchantID string, limit int) ([]*paygate.URLChange, error)
	UpdateRateLimitFn func(ctx context.Context, m *paygate.Merchant) error
	CreateAPIKeyFn    func(ctx context.Context, k *paygate.APIKey) error
	APIKeyByHashFn    func(ctx context.Context, hash string) (*paygate.APIKey, error)
	APIKeysFn         func(ctx context.Context, merchantID string) ([]*paygate.APIKey, error)
	RevokeAPIKeyFn    func(ctx context.Context, id string, at time.Time) error
}

var _ paygate.MerchantStore = (*MerchantStore)(nil)

func (s *MerchantStore) CreateMerchant(ctx context.Context, m *paygate.Merchant) error {
	return s.CreateMerchantFn(ctx, m)
}

func (s *MerchantStore) Merchant(ctx context.Context, id string) (*paygate.Merchant, error) {
	return s.MerchantFn(ctx, id)
}

func (s *MerchantStore) Merchants(ctx context.Context) ([]*paygate.Merchant, error) {
	return s.MerchantsFn(ctx)
}

func (s *MerchantStore) UpdateMerchant(ctx context.Context, m *paygate.Merchant) error {
	return s.UpdateMerchantFn(ctx, m)
}

func (s *MerchantStore) UpdateSettings(ctx context.Context, m *paygate.Merchant, by string, at time.Time) error {
	return s.UpdateSettingsFn(ctx, m, by, at)
}

func (s *MerchantStore) URLChanges(ctx context.Context, merchantID string, limit int) ([]*paygate.URLChange, error) {
	return s.URLChangesFn(ctx, merchantID, limit)
}

func (s *MerchantStore) UpdateRateLimit(ctx context.Context, m *paygate.Merchant) error {
	return s.UpdateRateLimitFn(ctx, m)
}

func (s *MerchantStore) CreateAPIKey(ctx context.Context, k *paygate.APIKey) error {
	return s.CreateAPIKeyFn(ctx, k)
}

func (s *MerchantStore) APIKeyByHash(ctx context.Context, hash string) (*paygate.APIKey, error) {
	return s.APIKeyByHashFn(ctx, hash)
}

func (s *MerchantStore) APIKeys(ctx context.Context, merchantID string) ([]*paygate.APIKey, error) {
	return s.APIKeysFn(ctx, merchantID)
}

func (s *MerchantStore) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.RevokeAPIKeyFn(ctx, id, at)
}

// PaymentStore mocks paygate.PaymentStore.
type PaymentStore struct {
	CreatePaymentFn           func(ctx context.Context, p *paygate.Payment) error
	UpdatePaymentFn           func(ctx context.Context, p *paygate.Payment) error
	SaveRefundFn              func(ctx context.Context, p *paygate.Payment, r *paygate.Refund) error
	PaymentFn                 func(ctx context.Context, merchantID, id string) (*paygate.Payment, error)
	PaymentsFn                func(ctx context.Context, f paygate.PaymentFilter) ([]*paygate.Payment, bool, error)
	InDoubtFn                 func(ctx context.Context, before time.Time, limit int) ([]*paygate.Payment, error)
	AckOverdueFn              func(ctx context.Context, now time.Time, limit int) ([]*paygate.Payment, error)
	MarkSettledFn             func(ctx context.Context, merchantID string, at time.Time) (int64, error)
	StaleAuthorizationsFn     func(ctx context.Context, createdBefore time.Time, limit int) ([]*paygate.Payment, error)
	PaymentByIdempotencyKeyFn func(ctx context.Context, merchantID, key string) (*paygate.Payment, error)
	RefundByIdempotencyKeyFn  func(ctx context.Context, merchantID, key string) (*paygate.Refund, error)
	PaymentStatsFn            func(ctx context.Context, q paygate.StatsQuery) (*paygate.PaymentStats, error)
}

func (s *PaymentStore) PaymentStats(ctx context.Context, q paygate.StatsQuery) (*paygate.PaymentStats, error) {
	return s.PaymentStatsFn(ctx, q)
}

var _ paygate.PaymentStore = (*PaymentStore)(nil)

func (s *PaymentStore) CreatePayment(ctx context.Context, p *paygate.Payment) error {
	return s.CreatePaymentFn(ctx, p)
}

func (s *PaymentStore) UpdatePayment(ctx context.Context, p *paygate.Payment) error {
	return s.UpdatePaymentFn(ctx, p)
}

func (s *PaymentStore) SaveRefund(ctx context.Context, p *paygate.Payment, r *paygate.Refund) error {
	return s.SaveRefundFn(ctx, p, r)
}

func (s *PaymentStore) Payment(ctx context.Context, merchantID, id string) (*paygate.Payment, error) {
	return s.PaymentFn(ctx, merchantID, id)
}

func (s *PaymentStore) Payments(ctx context.Context, f paygate.PaymentFilter) ([]*paygate.Payment, bool, error) {
	return s.PaymentsFn(ctx, f)
}

func (s *PaymentStore) InDoubt(ctx context.Context, before time.Time, limit int) ([]*paygate.Payment, error) {
	return s.InDoubtFn(ctx, before, limit)
}

func (s *PaymentStore) AckOverdue(ctx context.Context, now time.Time, limit int) ([]*paygate.Payment, error) {
	return s.AckOverdueFn(ctx, now, limit)
}

func (s *PaymentStore) MarkSettled(ctx context.Context, merchantID string, at time.Time) (int64, error) {
	return s.MarkSettledFn(ctx, merchantID, at)
}

func (s *PaymentStore) StaleAuthorizations(ctx context.Context, createdBefore time.Time, limit int) ([]*paygate.Payment, error) {
	return s.StaleAuthorizationsFn(ctx, createdBefore, limit)
}

func (s *PaymentStore) PaymentByIdempotencyKey(ctx context.Context, merchantID, key string) (*paygate.Payment, error) {
	return s.PaymentByIdempotencyKeyFn(ctx, merchantID, key)
}

func (s *PaymentStore) RefundByIdempotencyKey(ctx context.Context, merchantID, key string) (*paygate.Refund, error) {
	return s.RefundByIdempotencyKeyFn(ctx, merchantID, key)
}

// Vault mocks paygate.Vault.
type Vault struct {
	SealFn        func(pan string) (paygate.EncryptedPAN, error)
	OpenFn        func(e paygate.EncryptedPAN) (string, error)
	FingerprintFn func(pan string) string
}

var _ paygate.Vault = (*Vault)(nil)

func (v *Vault) Seal(pan string) (paygate.EncryptedPAN, error) { return v.SealFn(pan) }
func (v *Vault) Open(e paygate.EncryptedPAN) (string, error)   { return v.OpenFn(e) }
func (v *Vault) Fingerprint(pan string) string                 { return v.FingerprintFn(pan) }

// ReversibleVault is a Vault for tests that "seals" by reversing the
// digits: enough to check that the gateway stores what Seal returns and
// hands Open's result to the network.
func ReversibleVault() *Vault {
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	return &Vault{
		SealFn: func(pan string) (paygate.EncryptedPAN, error) {
			return paygate.EncryptedPAN{KeyID: "k", Ciphertext: []byte(rev(pan))}, nil
		},
		OpenFn:        func(e paygate.EncryptedPAN) (string, error) { return rev(string(e.Ciphertext)), nil },
		FingerprintFn: func(pan string) string { return "fp-" + pan[len(pan)-4:] },
	}
}

// SequenceStore mocks paygate.SequenceStore.
type SequenceStore struct {
	ReserveFn func(ctx context.Context, name string, n int64) (int64, error)
}

var _ paygate.SequenceStore = (*SequenceStore)(nil)

func (s *SequenceStore) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	return s.ReserveFn(ctx, name, n)
}

// CardStore mocks paygate.CardStore.
type CardStore struct {
	CreateCardFn func(ctx context.Context, c *paygate.StoredCard) error
	CardFn       func(ctx context.Context, merchantID, id string) (*paygate.StoredCard, error)
}

var _ paygate.CardStore = (*CardStore)(nil)

func (s *CardStore) CreateCard(ctx context.Context, c *paygate.StoredCard) error {
	return s.CreateCardFn(ctx, c)
}

func (s *CardStore) Card(ctx context.Context, merchantID, id string) (*paygate.StoredCard, error) {
	return s.CardFn(ctx, merchantID, id)
}

// SessionStore mocks paygate.SessionStore.
type SessionStore struct {
	CreateSessionFn    func(ctx context.Context, s *paygate.Session) error
	SessionFn          func(ctx context.Context, merchantID, id string) (*paygate.Session, error)
	SessionByFormKeyFn func(ctx context.Context, merchantID, formKey string) (*paygate.Session, error)
	UpdateSessionFn    func(ctx context.Context, s *paygate.Session) error
	StalePayingFn      func(ctx context.Context, before time.Time, limit int) ([]*paygate.Session, error)
}

var _ paygate.SessionStore = (*SessionStore)(nil)

func (s *SessionStore) CreateSession(ctx context.Context, ss *paygate.Session) error {
	return s.CreateSessionFn(ctx, ss)
}

func (s *SessionStore) Session(ctx context.Context, merchantID, id string) (*paygate.Session, error) {
	return s.SessionFn(ctx, merchantID, id)
}

func (s *SessionStore) SessionByFormKey(ctx context.Context, merchantID, formKey string) (*paygate.Session, error) {
	return s.SessionByFormKeyFn(ctx, merchantID, formKey)
}

func (s *SessionStore) UpdateSession(ctx context.Context, ss *paygate.Session) error {
	return s.UpdateSessionFn(ctx, ss)
}

func (s *SessionStore) StalePaying(ctx context.Context, before time.Time, limit int) ([]*paygate.Session, error) {
	return s.StalePayingFn(ctx, before, limit)
}

// SigningSecretStore mocks paygate.SigningSecretStore.
type SigningSecretStore struct {
	RotateSigningSecretFn func(ctx context.Context, s *paygate.SigningSecret, retireAt time.Time) error
	SigningSecretsFn      func(ctx context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error)
}

var _ paygate.SigningSecretStore = (*SigningSecretStore)(nil)

func (s *SigningSecretStore) RotateSigningSecret(ctx context.Context, ss *paygate.SigningSecret, retireAt time.Time) error {
	return s.RotateSigningSecretFn(ctx, ss, retireAt)
}

func (s *SigningSecretStore) SigningSecrets(ctx context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error) {
	return s.SigningSecretsFn(ctx, merchantID, now)
}

// DeliveryStore mocks paygate.DeliveryStore.
type DeliveryStore struct {
	CreateDeliveryFn  func(ctx context.Context, d *paygate.Delivery) error
	ClaimDeliveriesFn func(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.Delivery, error)
	UpdateDeliveryFn  func(ctx context.Context, d *paygate.Delivery, prevNextAt time.Time) error
	SessionDeliveryFn func(ctx context.Context, sessionID string) (*paygate.Delivery, error)
}

var _ paygate.DeliveryStore = (*DeliveryStore)(nil)

func (s *DeliveryStore) CreateDelivery(ctx context.Context, d *paygate.Delivery) error {
	return s.CreateDeliveryFn(ctx, d)
}

func (s *DeliveryStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.Delivery, error) {
	return s.ClaimDeliveriesFn(ctx, now, lease, limit)
}

func (s *DeliveryStore) UpdateDelivery(ctx context.Context, d *paygate.Delivery, prevNextAt time.Time) error {
	return s.UpdateDeliveryFn(ctx, d, prevNextAt)
}

func (s *DeliveryStore) SessionDelivery(ctx context.Context, sessionID string) (*paygate.Delivery, error) {
	return s.SessionDeliveryFn(ctx, sessionID)
}

// EventStore mocks paygate.EventStore.
type EventStore struct {
	CreateEventFn func(ctx context.Context, e *paygate.Event) error
	EventFn       func(ctx context.Context, merchantID, id string) (*paygate.Event, error)
	EventsFn      func(ctx context.Context, f paygate.EventFilter) ([]*paygate.Event, bool, error)
}

var _ paygate.EventStore = (*EventStore)(nil)

func (s *EventStore) CreateEvent(ctx context.Context, e *paygate.Event) error {
	return s.CreateEventFn(ctx, e)
}

func (s *EventStore) Event(ctx context.Context, merchantID, id string) (*paygate.Event, error) {
	return s.EventFn(ctx, merchantID, id)
}

func (s *EventStore) Events(ctx context.Context, f paygate.EventFilter) ([]*paygate.Event, bool, error) {
	return s.EventsFn(ctx, f)
}

// WebhookStore mocks paygate.WebhookStore.
type WebhookStore struct {
	CreateEndpointFn         func(ctx context.Context, e *paygate.WebhookEndpoint) error
	EndpointFn               func(ctx context.Context, merchantID, id string) (*paygate.WebhookEndpoint, error)
	EndpointsFn              func(ctx context.Context, merchantID string) ([]*paygate.WebhookEndpoint, error)
	UpdateEndpointFn         func(ctx context.Context, e *paygate.WebhookEndpoint) error
	RecordEndpointHealthFn   func(ctx context.Context, e *paygate.WebhookEndpoint) error
	ClaimWebhookDeliveriesFn func(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.WebhookDelivery, error)
	RecordWebhookAttemptFn   func(ctx context.Context, d *paygate.WebhookDelivery, prevNextAt time.Time, a *paygate.WebhookAttempt) error
	WebhookDeliveriesFn      func(ctx context.Context, merchantID, eventID string) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error)
	RedeliverFn              func(ctx context.Context, merchantID, eventID string, now time.Time) ([]*paygate.WebhookDelivery, error)
	EndpointDeliveriesFn     func(ctx context.Context, merchantID, endpointID string, limit int) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error)
}

var _ paygate.WebhookStore = (*WebhookStore)(nil)

func (s *WebhookStore) CreateEndpoint(ctx context.Context, e *paygate.WebhookEndpoint) error {
	return s.CreateEndpointFn(ctx, e)
}

func (s *WebhookStore) Endpoint(ctx context.Context, merchantID, id string) (*paygate.WebhookEndpoint, error) {
	return s.EndpointFn(ctx, merchantID, id)
}

func (s *WebhookStore) Endpoints(ctx context.Context, merchantID string) ([]*paygate.WebhookEndpoint, error) {
	return s.EndpointsFn(ctx, merchantID)
}

func (s *WebhookStore) UpdateEndpoint(ctx context.Context, e *paygate.WebhookEndpoint) error {
	return s.UpdateEndpointFn(ctx, e)
}

func (s *WebhookStore) RecordEndpointHealth(ctx context.Context, e *paygate.WebhookEndpoint) error {
	return s.RecordEndpointHealthFn(ctx, e)
}

func (s *WebhookStore) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.WebhookDelivery, error) {
	return s.ClaimWebhookDeliveriesFn(ctx, now, lease, limit)
}

func (s *WebhookStore) RecordWebhookAttempt(ctx context.Context, d *paygate.WebhookDelivery, prevNextAt time.Time, a *paygate.WebhookAttempt) error {
	return s.RecordWebhookAttemptFn(ctx, d, prevNextAt, a)
}

func (s *WebhookStore) WebhookDeliveries(ctx context.Context, merchantID, eventID string) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	return s.WebhookDeliveriesFn(ctx, merchantID, eventID)
}

func (s *WebhookStore) EndpointDeliveries(ctx context.Context, merchantID, endpointID string, limit int) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	return s.EndpointDeliveriesFn(ctx, merchantID, endpointID, limit)
}

func (s *WebhookStore) Redeliver(ctx context.Context, merchantID, eventID string, now time.Time) ([]*paygate.WebhookDelivery, error) {
	return s.RedeliverFn(ctx, merchantID, eventID, now)
}

// Fetcher mocks paygate.Fetcher.
type Fetcher struct {
	FetchFn func(ctx context.Context, url string) (*paygate.FetchResult, error)
}

var _ paygate.Fetcher = (*Fetcher)(nil)

func (f *Fetcher) Fetch(ctx context.Context, url string) (*paygate.FetchResult, error) {
	return f.FetchFn(ctx, url)
}
