package bank_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

const merchant = "MERCHANT0000001"

// shop is a gateway in miniature: it sends sales, captures and refunds
// through the real client and keeps the batch items the gateway would.
type shop struct {
	t     testing.TB
	c     *iso8583.Client
	items []paygate.BatchItem
	batch int64
}

func newShop(t testing.TB, link iso8583.Link) *shop {
	return &shop{t: t, c: iso8583.NewClient(link, 5*time.Second), batch: 1}
}

func (s *shop) add(kind string, req paygate.NetworkRequest, authCode string) {
	s.items = append(s.items, paygate.BatchItem{Kind: kind, RRN: req.RRN, AuthCode: authCode, Amount: req.Amount,
		Currency: req.Currency, CardBrand: paygate.CardBrand(req.PAN), CardType: "credit"})
}

func (s *shop) sale(pan string, amount int64) paygate.NetworkRequest {
	req := request(paygate.NetworkSale, pan, amount)
	resp := mustSend(s.t, s.c, req)
	if !resp.Approved() {
		s.t.Fatalf("sale: %s", resp.ResponseCode)
	}
	s.add("debit", req, resp.AuthCode)
	return req
}

// authCapture authorizes amount and captures final of it.
func (s *shop) authCapture(pan string, amount, final int64) paygate.NetworkRequest {
	auth := request(paygate.NetworkAuthorize, pan, amount)
	resp := mustSend(s.t, s.c, auth)
	if !resp.Approved() {
		s.t.Fatalf("authorization: %s", resp.ResponseCode)
	}
	capture := follow(paygate.NetworkCapture, auth, resp.AuthCode, final)
	mustSend(s.t, s.c, capture)
	s.add("debit", capture, resp.AuthCode)
	return capture
}

func (s *shop) refund(pan string, amount int64) paygate.NetworkRequest {
	req := request(paygate.NetworkRefund, pan, amount)
	resp := mustSend(s.t, s.c, req)
	if !resp.Approved() {
		s.t.Fatalf("refund: %s", resp.ResponseCode)
	}
	s.add("credit", req, resp.AuthCode)
	return req
}

func (s *shop) totals() (t paygate.Totals) {
	for _, it := range s.items {
		if it.Kind == "debit" {
			t.DebitsCount++
			t.DebitsAmount += it.Amount
		} else {
			t.CreditsCount++
			t.CreditsAmount += it.Amount
		}
	}
	return t
}

func (s *shop) fees(p paygate.Pricing) (fees int64) {
	for i := range s.items {
		fees += p.Fee(&s.items[i])
	}
	return fees
}

func (s *shop) reconcile(pricing paygate.Pricing) paygate.ReconcileResponse {
	s.t.Helper()
	resp, err := s.c.Reconcile(context.Background(), paygate.ReconcileRequest{
		MerchantID: merchant, TerminalID: "WEB00001", BatchNumber: s.batch, Currency: usd,
		Totals: s.totals(), Pricing: pricing.Code(), STAN: fmt.Sprintf("%06d", next()%1_000_000), TransmissionTime: now,
	})
	if err != nil {
		s.t.Fatalf("reconcile: %v", err)
	}
	return resp
}

func (s *shop) upload() {
	s.t.Helper()
	for i, it := range s.items {
		rc, err := s.c.Upload(context.Background(), paygate.UploadRequest{MerchantID: merchant, TerminalID: "WEB00001",
			BatchNumber: s.batch, Item: it, Last: i == len(s.items)-1, STAN: fmt.Sprintf("%06d", next()%1_000_000), TransmissionTime: now})
		if err != nil || rc != "00" {
			s.t.Fatalf("upload of %s: %q, %v", it.RRN, rc, err)
		}
	}
}

// settled starts the shop's next batch.
func (s *shop) settled() {
	s.items = nil
	s.batch++
}

var cards = []string{approve, "5555555555554444", "378282246310005"}

func postedBy(t *testing.T, b *bank.Bank) map[string]int64 {
	m := map[string]int64{}
	for _, pan := range cards {
		m[pan] = mustAccount(t, b, pan).Posted
	}
	return m
}

func TestReconcileInBalance(t *testing.T) {
	for _, pricing := range []paygate.Pricing{paygate.DefaultPricing, {Kind: paygate.PricingInterchangePlus, Percent: 30, Fixed: 5}} {
		t.Run(pricing.Kind, func(t *testing.T) {
			b := bank.New(nil)
			s := newShop(t, iso8583.LinkFunc(b.Handle))
			before := postedBy(t, b)
			s.sale(cards[0], 10_000)
			s.authCapture(cards[1], 5000, 4200)
			s.authCapture(cards[2], 12_345, 12_345)
			s.refund(cards[0], 2500)
			open := request(paygate.NetworkAuthorize, cards[1], 700) // never captured: not in the batch
			mustSend(t, s.c, open)

			resp := s.reconcile(pricing)
			fees := s.fees(pricing)
			want := paygate.ReconcileResponse{ResponseCode: "00", Totals: s.totals(), Fees: fees, Funded: s.totals().Net() - fees}
			if !reflect.DeepEqual(resp, want) {
				t.Fatalf("0510 %+v, want %+v", resp, want)
			}
			if fees <= 0 {
				t.Fatalf("fees %d", fees)
			}
			if got := b.Funded(merchant); got != want.Funded {
				t.Errorf("Funded = %d, want %d", got, want.Funded)
			}
			fs := b.Fundings(merchant)
			if len(fs) != 1 || fs[0].BatchNumber != 1 || fs[0].Fees != fees || fs[0].Totals != s.totals() {
				t.Errorf("Fundings = %+v", fs)
			}
			// Postings are what was captured minus what was refunded,
			// per card; the open authorization still holds.
			after := postedBy(t, b)
			for pan, want := range map[string]int64{cards[0]: 10_000 - 2500, cards[1]: 4200, cards[2]: 12_345} {
				if got := before[pan] - after[pan]; got != want {
					t.Errorf("card %s: posted %d, want %d", pan[:6], got, want)
				}
				wantHeld := int64(0)
				if pan == cards[1] {
					wantHeld = 700
				}
				if a := mustAccount(t, b, pan); a.Held != wantHeld {
					t.Errorf("card %s: held %d, want %d", pan[:6], a.Held, wantHeld)
				}
			}
			if n := b.Remembered(); n != 1 {
				t.Errorf("%d RRNs remembered, want 1 (the open authorization)", n)
			}

			// The answer to a repeated 0500 (the first answer was lost) is
			// the same, and nothing is cleared or funded twice.
			if again := s.reconcile(pricing); !reflect.DeepEqual(again, want) {
				t.Errorf("repeated 0510 %+v, want %+v", again, want)
			}
			if got := b.Funded(merchant); got != want.Funded {
				t.Errorf("Funded after the repeat = %d, want %d", got, want.Funded)
			}
			if !reflect.DeepEqual(postedBy(t, b), after) {
				t.Errorf("the repeat changed postings")
			}

			// The next batch starts empty.
			s.settled()
			s.sale(cards[2], 100)
			if resp := s.reconcile(pricing); resp.ResponseCode != "00" || resp.Totals != s.totals() {
				t.Errorf("next batch: %+v", resp)
			}
		})
	}
}

func TestReconcileOutOfBalance(t *testing.T) {
	b := bank.New(nil)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	lost := s.sale(cards[0], 1000)
	changed := s.authCapture(cards[1], 3000, 3000)
	s.refund(cards[2], 400)
	kept := s.sale(cards[2], 5000)
	if !b.LoseTransaction(lost.RRN) || !b.ChangeAmount(changed.RRN, 2999) {
		t.Fatal("fault injection found nothing")
	}
	if b.LoseTransaction("999999999999") || b.ChangeAmount("999999999999", 1) {
		t.Error("fault injection of an unknown RRN reported success")
	}
	// The acquirer also has a sale the gateway does not.
	extra := request(paygate.NetworkSale, cards[0], 77)
	mustSend(t, s.c, extra)
	heldBefore := mustAccount(t, b, cards[2]).Held

	resp := s.reconcile(paygate.DefaultPricing)
	wantTotals := paygate.Totals{DebitsCount: 3, DebitsAmount: 2999 + 5000 + 77, CreditsCount: 1, CreditsAmount: 400}
	if resp.ResponseCode != "95" || resp.Totals != wantTotals || resp.Funded != 0 || resp.Fees != 0 || len(resp.Differences) != 0 {
		t.Fatalf("0510 %+v, want 95 with totals %+v", resp, wantTotals)
	}
	s.upload()
	resp = s.reconcile(paygate.DefaultPricing)
	wantDiffs := []paygate.BatchDifference{
		{RRN: lost.RRN, Kind: "missing_at_acquirer", Amount: 1000},
		{RRN: changed.RRN, Kind: "amount_differs", Amount: 3000, AcquirerAmount: 2999},
		{RRN: extra.RRN, Kind: "missing_at_gateway", AcquirerAmount: 77},
	}
	if resp.ResponseCode != "95" || resp.DifferenceCount != 3 || !reflect.DeepEqual(resp.Differences, wantDiffs) {
		t.Fatalf("0510 after the upload %+v, want 95 with %+v", resp, wantDiffs)
	}
	// Nothing was cleared or funded.
	if got := b.Funded(merchant); got != 0 {
		t.Errorf("Funded %d, want 0", got)
	}
	if a := mustAccount(t, b, cards[2]); a.Held != heldBefore || a.Held < kept.Amount {
		t.Errorf("held %d, want %d still", a.Held, heldBefore)
	}
	// A resend without a new upload compares the same items again.
	if again := s.reconcile(paygate.DefaultPricing); again.ResponseCode != "95" || again.DifferenceCount != 3 {
		t.Errorf("resend: %+v", again)
	}
}

func TestUploadResolves(t *testing.T) {
	// The gateway's totals were wrong (it counted a refund twice), its
	// items are right: after the upload the acquirer answers 00.
	b := bank.New(nil)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	s.sale(cards[0], 1000)
	s.refund(cards[0], 100)
	req := paygate.ReconcileRequest{MerchantID: merchant, TerminalID: "WEB00001", BatchNumber: 1, Currency: usd,
		Totals: paygate.Totals{DebitsCount: 1, DebitsAmount: 1000, CreditsCount: 2, CreditsAmount: 200}, STAN: "000001", TransmissionTime: now}
	resp, err := s.c.Reconcile(context.Background(), req)
	if err != nil || resp.ResponseCode != "95" {
		t.Fatalf("0510 %+v, %v; want 95", resp, err)
	}
	s.upload()
	req.STAN = "000002"
	resp, err = s.c.Reconcile(context.Background(), req)
	if err != nil || resp.ResponseCode != "00" || resp.Totals != s.totals() || resp.Funded != 900-s.fees(paygate.DefaultPricing) {
		t.Fatalf("0510 after the upload %+v, %v; want 00 with the items' totals", resp, err)
	}
	if n := b.Remembered(); n != 0 {
		t.Errorf("%d RRNs remembered, want 0", n)
	}
}

func TestReconcileCountsWhatCameBeforeTheClose(t *testing.T) {
	b := bank.New(nil)
	c := client(b, time.Second)
	early := request(paygate.NetworkSale, approve, 1000)
	early.TransmissionTime = now.Add(-time.Minute)
	late := request(paygate.NetworkSale, approve, 2000)
	late.TransmissionTime = now.Add(time.Minute)
	mustSend(t, c, early)
	mustSend(t, c, late)
	resp, err := c.Reconcile(context.Background(), paygate.ReconcileRequest{MerchantID: merchant, TerminalID: "WEB00001",
		BatchNumber: 1, Currency: usd, Totals: paygate.Totals{DebitsCount: 1, DebitsAmount: 1000}, ClosedAt: now, STAN: "000001", TransmissionTime: now})
	if err != nil || resp.ResponseCode != "00" {
		t.Fatalf("0510 %+v, %v; want 00", resp, err)
	}
	if a := mustAccount(t, b, approve); a.Held != 2000 || a.Posted != bank.StandardLimit-1000 {
		t.Errorf("after the close: %+v; want the late sale held, the early one posted", a)
	}
	resp, err = c.Reconcile(context.Background(), paygate.ReconcileRequest{MerchantID: merchant, TerminalID: "WEB00001",
		BatchNumber: 2, Currency: usd, Totals: paygate.Totals{DebitsCount: 1, DebitsAmount: 2000}, STAN: "000002", TransmissionTime: now})
	if err != nil || resp.ResponseCode != "00" {
		t.Fatalf("next 0510 %+v, %v; want 00", resp, err)
	}
	// Another terminal and another currency are other batches.
	other := request(paygate.NetworkSale, approve, 10)
	other.TerminalID = "WEB00002"
	mustSend(t, c, other)
	eur := request(paygate.NetworkSale, approve, 20)
	eur.Currency = paygate.Currency{Code: "EUR", Numeric: "978", Exponent: 2}
	mustSend(t, c, eur)
	resp, err = c.Reconcile(context.Background(), paygate.ReconcileRequest{MerchantID: merchant, TerminalID: "WEB00001",
		BatchNumber: 3, Currency: usd, STAN: "000003", TransmissionTime: now})
	if err != nil || resp.ResponseCode != "00" || resp.Totals != (paygate.Totals{}) {
		t.Errorf("empty batch: %+v, %v", resp, err)
	}
}

func TestLateReversalAfterClearing(t *testing.T) {
	b := bank.New(nil)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	sale := s.sale(approve, 1500)
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "00" {
		t.Fatalf("0510 %+v", resp)
	}
	cleared := mustAccount(t, b, approve)
	rev := follow(paygate.NetworkReverse, sale, "", 0)
	rev.Advice = true
	if rc := mustSend(t, s.c, rev).ResponseCode; rc != "00" {
		t.Errorf("late reversal: %s, want 00", rc)
	}
	// The posting stands: a cleared sale is taken back by a refund.
	if a := mustAccount(t, b, approve); a.Posted != cleared.Posted || a.Held != 0 || a.Posted != bank.StandardLimit-1500 {
		t.Errorf("after the late reversal %+v, want %+v", a, cleared)
	}
	// The next reconciliation has nothing of it, and forgets it.
	s.settled()
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "00" || resp.Totals != (paygate.Totals{}) {
		t.Errorf("next 0510 %+v", resp)
	}
	if n := b.Remembered(); n != 0 {
		t.Errorf("%d RRNs remembered, want 0", n)
	}
}

func TestPruningBoundsMemory(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	b := bank.New(nil)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	for i := range n {
		s.sale(cards[i%len(cards)], int64(100+i))
	}
	mustSend(t, s.c, request(paygate.NetworkSale, "4000000000000002", 100)) // a decline is forgotten too
	if got := b.Remembered(); got != n+1 {
		t.Fatalf("%d RRNs remembered before the close, want %d", got, n+1)
	}
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "00" || resp.Totals.DebitsCount != int64(n) {
		t.Fatalf("0510 %+v", resp)
	}
	if got := b.Remembered(); got != 0 {
		t.Errorf("%d RRNs remembered after the close, want 0", got)
	}
}

func TestSettlementLedgerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b := mustOpen(t, path)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	for i := range 200 {
		s.sale(cards[i%len(cards)], 1000)
	}
	s.refund(cards[0], 300)
	before := postedBy(t, b)
	resp := s.reconcile(paygate.DefaultPricing)
	if resp.ResponseCode != "00" {
		t.Fatalf("0510 %+v", resp)
	}
	after := postedBy(t, b)
	mustClose(t, b)

	b = mustOpen(t, path)
	defer mustClose(t, b)
	if got := postedBy(t, b); !reflect.DeepEqual(got, after) {
		t.Errorf("postings after reopen %v, want %v (before the close %v)", got, after, before)
	}
	if n := b.Remembered(); n != 0 {
		t.Errorf("%d RRNs remembered after reopen, want 0", n)
	}
	if got := b.Funded(merchant); got != resp.Funded {
		t.Errorf("Funded after reopen %d, want %d", got, resp.Funded)
	}
	// The repeat of the funded batch is answered from the file.
	s.c = client(b, 5*time.Second)
	if again := s.reconcile(paygate.DefaultPricing); !reflect.DeepEqual(again, resp) {
		t.Errorf("repeated 0510 after reopen %+v, want %+v", again, resp)
	}
}

func TestReconcileOverTCP(t *testing.T) {
	b := bank.New(nil)
	srv := mustServe(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := iso8583.Dial(ctx, srv.ListenAddr(), iso8583.DialOptions{Conns: 1, EchoInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	s := newShop(t, link)
	s.sale(cards[0], 1000)
	lost := s.authCapture(cards[1], 500, 500)
	b.LoseTransaction(lost.RRN)
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "95" {
		t.Fatalf("0510 %+v, want 95", resp)
	}
	s.upload()
	resp := s.reconcile(paygate.DefaultPricing)
	if resp.ResponseCode != "95" || len(resp.Differences) != 1 || resp.Differences[0].RRN != lost.RRN {
		t.Fatalf("0510 after upload %+v", resp)
	}
	// The operator's view: the lost capture is taken out; the rest balances.
	s.items = s.items[:1]
	s.upload()
	resp = s.reconcile(paygate.DefaultPricing)
	if resp.ResponseCode != "00" || resp.Funded != 1000-s.fees(paygate.DefaultPricing) {
		t.Errorf("0510 %+v, want 00", resp)
	}
	if s := b.Stats(); s.Reconciliations != 3 || s.Uploads != 3 {
		t.Errorf("stats %+v", s)
	}
}

// TestUploadCarriesLateTransactions: a transaction the acquirer has but the
// gateway's upload leaves out (the gateway approved it around its close) is
// carried to the next batch once, not a difference; left out of the next
// upload too, it is one.
func TestUploadCarriesLateTransactions(t *testing.T) {
	b := bank.New(nil)
	s := newShop(t, iso8583.LinkFunc(b.Handle))
	s.sale(cards[0], 1000)
	late := request(paygate.NetworkSale, cards[1], 250) // at the acquirer, not in the gateway's batch
	mustSend(t, s.c, late)
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "95" {
		t.Fatalf("0510 with the late sale counted: %+v, want 95", resp)
	}
	s.upload()
	resp := s.reconcile(paygate.DefaultPricing)
	if resp.ResponseCode != "00" || resp.Totals.DebitsCount != 1 || resp.Totals.DebitsAmount != 1000 {
		t.Fatalf("0510 after the upload: %+v, want 00 for the gateway's one sale", resp)
	}
	if a := mustAccount(t, b, cards[1]); a.Held != 250 {
		t.Errorf("the late sale's hold: %d, want 250 (carried to the next batch)", a.Held)
	}
	// The next batch leaves it out again: now it is a difference.
	s.settled()
	s.sale(cards[0], 500)
	if resp := s.reconcile(paygate.DefaultPricing); resp.ResponseCode != "95" {
		t.Fatalf("next batch without the late sale: %+v, want 95", resp)
	}
	s.upload()
	resp = s.reconcile(paygate.DefaultPricing)
	if resp.ResponseCode != "95" || resp.DifferenceCount != 1 || resp.Differences[0].RRN != late.RRN ||
		resp.Differences[0].Kind != "missing_at_gateway" {
		t.Errorf("0510 after the second upload: %+v, want the late sale missing at the gateway", resp)
	}
}
