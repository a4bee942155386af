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
