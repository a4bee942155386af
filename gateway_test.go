package paygate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// memPayments is a PaymentStore in memory with the version checks of a
// real one, built on mock.PaymentStore.
type memPayments struct {
	mu       sync.Mutex
	payments map[string]paygate.Payment
	failNext error // returned once by the next UpdatePayment
}

func (m *memPayments) store() *mock.PaymentStore {
	m.payments = map[string]paygate.Payment{}
	return &mock.PaymentStore{
		CreatePaymentFn: func(_ context.Context, p *paygate.Payment) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			p.Version = 1
			m.payments[p.ID] = *p
			return nil
		},
		UpdatePaymentFn: func(_ context.Context, p *paygate.Payment) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if err := m.failNext; err != nil {
				m.failNext = nil
				return err
			}
			if m.payments[p.ID].Version != p.Version {
				return paygate.ErrVersionConflict
			}
			p.Version++
			m.payments[p.ID] = *p
			return nil
		},
		SaveRefundFn: func(_ context.Context, p *paygate.Payment, r *paygate.Refund) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.payments[p.ID].Version != p.Version {
				return paygate.ErrVersionConflict
			}
			p.Version++
			saved := *p
			saved.Refunds = cloneRefunds(p.Refunds)
			cp := *r
			if i := slices.IndexFunc(saved.Refunds, func(cur *paygate.Refund) bool { return cur.ID == r.ID }); i >= 0 {
				saved.Refunds[i] = &cp
			} else {
				saved.Refunds = append(saved.Refunds, &cp)
			}
			m.payments[p.ID] = saved
			return nil
		},
		PaymentFn: func(_ context.Context, merchantID, id string) (*paygate.Payment, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			p, ok := m.payments[id]
			if !ok || p.MerchantID != merchantID {
				return nil, paygate.Errorf(paygate.ENOTFOUND, "No such payment: %s.", id)
			}
			p.Refunds = cloneRefunds(p.Refunds)
			return &p, nil
		},
		AckOverdueFn: func(_ context.Context, now time.Time, _ int) ([]*paygate.Payment, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			var out []*paygate.Payment
			for _, p := range m.payments {
				if p.RequireAck && p.AckedAt.IsZero() && p.AckDeadline.Before(now) && !p.Settled() &&
					(p.Status == paygate.StatusAuthorized || p.Status == paygate.StatusCaptured) {
					out = append(out, &p)
				}
			}
			return out, nil
		},
		InDoubtFn: func(_ context.Context, before time.Time, _ int) ([]*paygate.Payment, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			var out []*paygate.Payment
			for _, p := range m.payments {
				pendingRefund := slices.ContainsFunc(p.Refunds, func(r *paygate.Refund) bool { return r.Status == paygate.RefundPending })
				if (p.Status.InDoubt() || pendingRefund) && p.UpdatedAt.Before(before) {
					out = append(out, &p)
				}
			}
			return out, nil
		},
	}
}

func (m *memPayments) get(id string) paygate.Payment {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.payments[id]
	p.Refunds = cloneRefunds(p.Refunds)
	return p
}

// cloneRefunds copies refunds, so that no caller shares one with the store.
func cloneRefunds(list []*paygate.Refund) []*paygate.Refund {
	out := make([]*paygate.Refund, len(list))
	for i, r := range list {
		cp := *r
		out[i] = &cp
	}
	return out
}

type fixture struct {
	g        *paygate.Gateway
	mem      *memPayments
	merchant *paygate.Merchant
	clock    *paygate.FixedClock
	mu       sync.Mutex
	sent     []paygate.NetworkRequest
	answer   func(req paygate.NetworkRequest) (paygate.NetworkResponse, error)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{mem: &memPayments{}, clock: paygate.NewFixedClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}
	m, err := paygate.NewMerchant("Shop", "", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.merchant = m
	f.answer = func(paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3"}, nil
	}
	f.g = paygate.NewGateway()
	f.g.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	f.g.Clock = f.clock
	f.g.Payments = f.mem.store()
	f.g.Vault = mock.ReversibleVault()
	f.g.Merchants = &merchants{m: m}
	f.g.Acquirer = &mock.Acquirer{SendFn: func(_ context.Context, req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		f.mu.Lock()
		f.sent = append(f.sent, req)
		answer := f.answer
		f.mu.Unlock()
		return answer(req)
	}}
	return f
}

func (f *fixture) requests() []paygate.NetworkRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]paygate.NetworkRequest(nil), f.sent...)
}

// merchants is the one merchant the fixture knows.
type merchants struct {
	paygate.MerchantStore
	m *paygate.Merchant
}

func (s *merchants) Merchant(context.Context, string) (*paygate.Merchant, error) { return s.m, nil }

var testCard = paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "987"}

func (f *fixture) pay(t *testing.T, capture bool) (*paygate.Payment, error) {
	t.Helper()
	c := testCard
	return f.g.CreatePayment(context.Background(), f.merchant, paygate.PaymentRequest{Amount: 5000, Currency: "USD", Card: &c, Capture: capture})
}

func TestCreatePaymentRecordsBeforeTheNetwork(t *testing.T) {
	f := newFixture(t)
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		f.mem.mu.Lock()
		var stored []paygate.Payment
		for _, p := range f.mem.payments {
			stored = append(stored, p)
		}
		f.mem.mu.Unlock()
		if len(stored) != 1 || stored[0].Status != paygate.StatusPending || stored[0].RRN != req.RRN {
			t.Errorf("at the network the store holds %d payments (%v), want one pending with RRN %s", len(stored), stored, req.RRN)
		}
		// The random numbers (id, confirmation number, STAN, RRN) may hold
		// any three digits: leave them out of the search for the CVC.
		for i := range stored {
			stored[i].ID, stored[i].ConfirmationNumber, stored[i].STAN, stored[i].RRN = "", "", "", ""
		}
		if s := fmt.Sprintf("%+v", stored); strings.Contains(s, "987") || strings.Contains(s, testCard.Number) {
			t.Errorf("the stored payment holds the CVC or the plain card number")
		}
		return paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3"}, nil
	}
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Kind != paygate.NetworkSale || reqs[0].CVC != "987" || reqs[0].PAN != testCard.Number {
		t.Fatalf("got requests %v, want one sale carrying the card and CVC", reqs)
	}
	if len(reqs[0].STAN) != 6 || len(reqs[0].RRN) != 12 || reqs[0].MerchantID != f.merchant.AcquirerID {
		t.Errorf("got STAN %q RRN %q merchant %q", reqs[0].STAN, reqs[0].RRN, reqs[0].MerchantID)
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusCaptured || got.AuthCode != "A1B2C3" || got.AmountCaptured != 5000 {
		t.Errorf("stored %s auth %q captured %d, want captured A1B2C3 5000", got.Status, got.AuthCode, got.AmountCaptured)
	}
}

func TestTimeoutIsReversed(t *testing.T) {
	f := newFixture(t)
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		if req.Kind == paygate.NetworkSale {
			return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNetworkTimeout)
		}
		return paygate.NetworkResponse{ResponseCode: "00"}, nil
	}
	p, err := f.pay(t, true)
	var e *paygate.Error
	if !errors.As(err, &e) || e.ResponseCode != "91" || p == nil {
		t.Fatalf("got %v, want a 91 decline with the payment", err)
	}
	// The reversal goes on in the background: Shutdown waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Kind != paygate.NetworkReverse {
		t.Fatalf("got %d requests, want the sale and its reversal", len(reqs))
	}
	rev := reqs[1]
	if rev.RRN != reqs[0].RRN || rev.OriginalSTAN != reqs[0].STAN || rev.OriginalKind != paygate.NetworkSale ||
		rev.OriginalAmount != 5000 || rev.Amount != 5000 || rev.STAN == reqs[0].STAN || rev.CVC != "" {
		t.Errorf("reversal %+v does not quote the original in full", rev)
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusFailed {
		t.Errorf("got %s, want failed", got.Status)
	}
}

// TestTimeoutClaimedElsewhere: if another node's sweeper claimed the
// payment while its answer was awaited, the request does not reverse it
// too: it declines and leaves the payment to that node.
func TestTimeoutClaimedElsewhere(t *testing.T) {
	f := newFixture(t)
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		if req.Kind == paygate.NetworkSale {
			f.mem.mu.Lock()
			for id, p := range f.mem.payments {
				p.Version++ // the other node's claim
				f.mem.payments[id] = p
			}
			f.mem.mu.Unlock()
			return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNetworkTimeout)
		}
		return paygate.NetworkResponse{ResponseCode: "00"}, nil
	}
	p, err := f.pay(t, true)
	if e := (*paygate.Error)(nil); !errors.As(err, &e) || e.ResponseCode != "91" {
		t.Fatalf("got %v, want a 91 decline", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.g.Shutdown(ctx)
	if reqs := f.requests(); len(reqs) != 1 {
		t.Errorf("got %d requests, want only the sale: the node that claimed it reverses it", len(reqs))
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusPending {
		t.Errorf("got %s, want pending for the other node", got.Status)
	}
}

func TestUnrecordedApprovalIsRecovered(t *testing.T) {
	f := newFixture(t)
	f.mem.failNext = errors.New("disk full")
	_, err := f.pay(t, false)
	if err == nil || paygate.ErrorCode(err) != paygate.EINTERNAL {
		t.Fatalf("got %v, want an internal error", err)
	}
	var id string
	for k := range f.mem.payments {
		id = k
	}
	if got := f.mem.get(id); got.Status != paygate.StatusPending {
		t.Fatalf("got %s, want the payment left pending", got.Status)
	}
	if n, _ := f.g.Recover(context.Background()); n != 0 {
		t.Errorf("recovered %d at once, want 0: the exchange may still be running", n)
	}
	f.clock.Add(time.Minute)
	if n, err := f.g.Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("recover: %d %v, want 1", n, err)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1]; last.Kind != paygate.NetworkReverse || last.OriginalKind != paygate.NetworkAuthorize {
		t.Errorf("last request %v, want a reversal of the authorization", last.Kind)
	}
	if got := f.mem.get(id); got.Status != paygate.StatusFailed {
		t.Errorf("got %s, want failed", got.Status)
	}
}

func TestUnansweredReversalStaysInDoubt(t *testing.T) {
	f := newFixture(t)
	f.answer = func(paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{}, paygate.ErrNetworkTimeout
	}
	p, err := f.pay(t, true)
	if paygate.ErrorCode(err) != paygate.EDECLINED {
		t.Fatalf("got %v, want a decline", err)
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusPending {
		t.Errorf("got %s, want pending until a reversal gets through", got.Status)
	}
}

func TestCaptureQuotesTheAuthorization(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.Capture(context.Background(), f.merchant, p.ID, 3000); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	c := reqs[len(reqs)-1]
	if c.Kind != paygate.NetworkCapture || c.Amount != 3000 || c.OriginalAmount != 5000 || c.AuthCode != "A1B2C3" ||
		c.RRN != reqs[0].RRN || c.PAN != testCard.Number || c.CVC != "" {
		t.Errorf("capture %+v does not quote the authorization", c)
	}
}

// TestRacingTransitions: captures and voids racing on one authorization.
// At most one capture and one void may win (a void after the capture is
// legal before settlement), every winner reaches the network once, and the
// payment ends in the state the winners imply.
func TestRacingTransitions(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	captures, voids := 0, 0
	for i := range 10 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = f.g.Capture(context.Background(), f.merchant, p.ID, 0)
			} else {
				_, err = f.g.Void(context.Background(), f.merchant, p.ID)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && i%2 == 0:
				captures++
			case err == nil:
				voids++
			case paygate.ErrorCode(err) != paygate.ECONFLICT:
				t.Errorf("loser got %v, want state_conflict", err)
			}
		})
	}
	wg.Wait()
	if captures > 1 || voids > 1 || captures+voids == 0 {
		t.Fatalf("%d captures and %d voids won, want at most one of each and at least one", captures, voids)
	}
	kinds := map[paygate.NetworkKind]int{}
	for _, r := range f.requests() {
		kinds[r.Kind]++
	}
	if kinds[paygate.NetworkCapture] != captures || kinds[paygate.NetworkReverse] != voids {
		t.Errorf("network saw %d captures and %d reversals, want %d and %d", kinds[paygate.NetworkCapture], kinds[paygate.NetworkReverse], captures, voids)
	}
	want := paygate.StatusCaptured
	if voids == 1 {
		want = paygate.StatusVoided
	}
	if got := f.mem.get(p.ID); got.Status != want {
		t.Errorf("got %s, want %s", got.Status, want)
	}
}

func TestAuthorizationsExpire(t *testing.T) {
	f := newFixture(t)
	f.g.Payments.(*mock.PaymentStore).StaleAuthorizationsFn = func(_ context.Context, before time.Time, _ int) ([]*paygate.Payment, error) {
		f.mem.mu.Lock()
		defer f.mem.mu.Unlock()
		var out []*paygate.Payment
		for _, p := range f.mem.payments {
			if p.Status == paygate.StatusAuthorized && p.CreatedAt.Before(before) {
				out = append(out, &p)
			}
		}
		return out, nil
	}
	p, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.g.ExpireAuthorizations(context.Background()); n != 0 {
		t.Fatalf("expired %d at once, want 0", n)
	}
	f.clock.Add(paygate.DefaultAuthorizationLifetime + time.Minute)
	if n, err := f.g.ExpireAuthorizations(context.Background()); n != 1 || err != nil {
		t.Fatalf("expire: %d %v, want 1", n, err)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusExpired || got.VoidReason != paygate.VoidExpired {
		t.Errorf("got %s %q, want expired", got.Status, got.VoidReason)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1]; last.Kind != paygate.NetworkReverse || last.RRN != p.RRN {
		t.Errorf("last request %v, want the reversal of the authorization", last.Kind)
	}
	if _, err := f.g.Capture(context.Background(), f.merchant, p.ID, 0); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("capture of expired: got %v, want state_conflict", err)
	}
}

func TestNotSentIsNotReversed(t *testing.T) {
	f := newFixture(t)
	f.answer = func(paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNotSent)
	}
	p, err := f.pay(t, true)
	var e *paygate.Error
	if !errors.As(err, &e) || e.ResponseCode != "91" {
		t.Fatalf("got %v, want a 91 decline", err)
	}
	if reqs := f.requests(); len(reqs) != 1 {
		t.Errorf("got %d requests, want only the one that was never sent (no reversal)", len(reqs))
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusFailed {
		t.Errorf("got %s, want failed", got.Status)
	}
}
