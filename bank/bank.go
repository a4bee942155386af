package bank

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

// Log keys.
const (
	keyMTI          = "mti"
	keySTAN         = "stan"
	keyRRN          = "rrn"
	keyPAN          = "pan" // always masked
	keyAmount       = "amount"
	keyResponseCode = "response_code"
	keyIssuer       = "issuer"
	keyError        = "error"
)

// BIN prefixes of the issuers with faults.
const (
	OfflineBIN = "400009" // its issuer is down from the start: the acquirer answers 91
	SilentBIN  = "400011" // its issuer processes requests but its answers never arrive
)

// StandardLimit is the credit limit of the accounts that approve.
const StandardLimit int64 = 1_000_000_000_000

type issuer struct {
	name   string
	silent bool // processes requests, never answers them
}

// Bank is the simulated acquirer with its issuing banks. It is safe for
// concurrent use: the accounts are fixed when it is built and each has its
// own lock. New keeps the ledger in memory; Open keeps it in a SQLite file
// as well.
type Bank struct {
	log      *slog.Logger
	journal  *journal           // nil: in memory only
	brands   map[string]*issuer // by paygate card brand
	special  map[string]*issuer // by BIN prefix, checked first
	accounts map[string]*account
	settle   settlement

	downMu sync.Mutex               // serializes SetIssuerDown
	down   atomic.Pointer[[]string] // BIN prefixes whose issuer is down

	authSeq  atomic.Uint64
	authBase uint64
	stats    counters
}

// New builds the acquirer, its issuers and the test accounts of the package
// documentation. A nil logger discards.
func New(logger *slog.Logger) *Bank {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Bank{
		log:      logger,
		brands:   map[string]*issuer{},
		special:  map[string]*issuer{},
		accounts: map[string]*account{},
		settle:   settlement{ledgers: map[settleKey]*ledger{}, funded: map[fundingKey]Funding{}},
		authBase: rand.Uint64N(authSpace),
	}
	for brand, name := range map[string]string{
		paygate.BrandVisa:       "Visa",
		paygate.BrandMastercard: "Mastercard",
		paygate.BrandAmex:       "American Express",
		paygate.BrandDiscover:   "Discover",
		paygate.BrandJCB:        "JCB",
		paygate.BrandUnionPay:   "UnionPay",
		paygate.BrandDiners:     "Diners Club",
	} {
		b.brands[brand] = &issuer{name: "Paygate Test Bank (" + name + ")"}
	}
	b.special[OfflineBIN] = &issuer{name: "Paygate Test Bank (Visa, offline)"}
	b.special[SilentBIN] = &issuer{name: "Paygate Test Bank (Visa, unresponsive)", silent: true}
	b.down.Store(&[]string{OfflineBIN})

	for _, c := range testCards {
		a := &account{
			pan:        c.pan,
			limit:      c.limit,
			txnLimit:   c.txnLimit,
			expMonth:   12,
			expYear:    2049,
			decline:    c.decline,
			cvcDecline: c.cvcDecline,
			status:     c.status,
			available:  c.limit,
			posted:     c.limit,
			txns:       map[rrn]txn{},
		}
		a.issuer = b.route(c.pan)
		b.accounts[c.pan] = a
	}
	return b
}

// testCards are the accounts New opens; see the package documentation.
var testCards = []struct {
	pan        string
	limit      int64
	status     Status
	decline    string
	cvcDecline string
	txnLimit   int64
}{
	{pan: "4242424242424242", limit: StandardLimit},
	{pan: "4111111111111111", limit: StandardLimit},
	{pan: "5555555555554444", limit: StandardLimit},
	{pan: "2223003122003222", limit: StandardLimit},
	{pan: "378282246310005", limit: StandardLimit},
	{pan: "6011111111111117", limit: StandardLimit},
	{pan: "3566002020360505", limit: StandardLimit},
	{pan: "6200000000000005", limit: StandardLimit},
	{pan: "36227206271667", limit: StandardLimit},
	{pan: "4000056655665556", limit: StandardLimit}, // debit
	{pan: "5200828282828210", limit: StandardLimit}, // debit
	{pan: "5105105105105100", limit: StandardLimit}, // prepaid
	{pan: "4000000000000002", limit: StandardLimit, decline: rcDoNotHonor},
	{pan: "4000000000009995", limit: 0},
	{pan: "4000000000000069", limit: StandardLimit, status: StatusExpired},
	{pan: "4000000000009987", limit: StandardLimit, status: StatusLost},
	{pan: "4000000000009979", limit: StandardLimit, status: StatusStolen},
	{pan: "4000000000000119", limit: StandardLimit, decline: rcMalfunction},
	{pan: "4000000000000127", limit: StandardLimit, cvcDecline: rcIncorrectCVC},
	{pan: "4000000000000572", limit: StandardLimit, decline: rcNotPermitted},
	{pan: "4100000000000019", limit: StandardLimit, decline: rcFraud},
	{pan: "4000000000000614", limit: StandardLimit, txnLimit: 10000},
	{pan: "4000000000000622", limit: StandardLimit, status: StatusRestricted},
	{pan: "4000090000000003", limit: StandardLimit},
	{pan: "4000110000000009", limit: StandardLimit},
}

// route finds the issuer of a card number, or nil.
func (b *Bank) route(pan string) *issuer {
	for prefix, iss := range b.special {
		if strings.HasPrefix(pan, prefix) {
			return iss
		}
	}
	return b.brands[paygate.CardBrand(pan)]
}

// isDown reports whether the issuer of pan is down.
func (b *Bank) isDown(pan string) bool {
	for _, p := range *b.down.Load() {
		if strings.HasPrefix(pan, p) {
			return true
		}
	}
	return false
}

// SetIssuerDown marks the issuer of every card starting with binPrefix as
// down (the acquirer answers 91 for it) or up again. It takes effect for the
// next message.
func (b *Bank) SetIssuerDown(binPrefix string, down bool) {
	b.downMu.Lock()
	defer b.downMu.Unlock()
	var next []string
	for _, p := range *b.down.Load() {
		if p != binPrefix {
			next = append(next, p)
		}
	}
	if down {
		next = append(next, binPrefix)
	}
	b.down.Store(&next)
}

// Account returns a copy of the account of a card number.
func (b *Bank) Account(pan string) (Account, bool) {
	a, ok := b.accounts[pan]
	if !ok {
		return Account{}, false
	}
	return a.snapshot(), true
}

// Holds returns the sum of the open holds on a card's account.
func (b *Bank) Holds(pan string) int64 {
	a, ok := b.accounts[pan]
	if !ok {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// Close closes the ledger file of a bank from Open, once the changes
// already made are written; Handle then answers no financial message
// (ErrClosed). For a bank from New it does nothing.
func (b *Bank) Close() error {
	if b.journal == nil {
		return nil
	}
	return b.journal.close()
}

// Done is closed when a bank from Open stops answering financial
// messages: it was closed, or a change could not be written to its file
// (Err says which). It is nil, never closed, for a bank from New.
func (b *Bank) Done() <-chan struct{} {
	if b.journal == nil {
		return nil
	}
	return b.journal.failed
}

// Err returns why the bank stopped answering (ErrClosed, or the write
// failure), or nil while it answers.
func (b *Bank) Err() error {
	if b.journal == nil {
		return nil
	}
	select {
	case <-b.journal.failed: // cheap while open: Handle asks on every message
		return b.journal.state()
	default:
		return nil
	}
}

// Handle answers one packed ISO 8583 request with a packed response. It is
// the bank end of a link: iso8583.NewClient(iso8583.LinkFunc(b.Handle), t).
// For a card of the unresponsive issuer it applies authorizations, sales and
// refunds, then waits for ctx to end and returns ctx.Err(). An unparseable
// request gets an error and no answer.
//
// With a ledger file (Open), the answer is returned only once the change it
// reports is written; when it cannot be, or the bank is closed, Handle
// returns an error and no answer.
func (b *Bank) Handle(ctx context.Context, msg []byte) ([]byte, error) {
	b.stats.messages.Add(1)
	mti := iso8583.MTIOf(msg)
	if mti == iso8583.MTINetwork {
		return b.network(msg)
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	switch mti {
	case paygate.MTIReconciliation, "0501":
		return b.handleReconcile(ctx, msg)
	case paygate.MTIBatchUpload, "0321":
		return b.handleUpload(ctx, msg)
	}
	req, mti, err := iso8583.UnpackRequest(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.LogAttrs(ctx, slog.LevelWarn, "bank: malformed request", slog.String(keyMTI, mti), slog.String(keyError, err.Error()))
		return nil, fmt.Errorf("bank: %w", err)
	}
	var resp paygate.NetworkResponse
	var iss *issuer
	if req.Channel == paygate.ChannelMOTO && (req.Kind == paygate.NetworkAuthorize || req.Kind == paygate.NetworkSale) {
		b.stats.mailPhone.Add(1)
	}
	if req.Kind == paygate.NetworkReverse && req.OriginalKind == 0 {
		// No usable DE90: we cannot tell what is reversed. Echo it as the
		// reversal of an authorization.
		req.OriginalKind = paygate.NetworkAuthorize
		resp.ResponseCode = rcFormatError
	} else {
		var w *entry
		resp, iss, w = b.process(req, mti)
		if err := w.wait(); err != nil {
			if !errors.Is(err, ErrClosed) {
				err = fmt.Errorf("bank: %s stan %s not answered: %w", mti, req.STAN, err)
			}
			return nil, err
		}
	}
	out, err := iso8583.PackResponse(req, resp)
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.LogAttrs(ctx, slog.LevelWarn, "bank: cannot answer", slog.String(keyMTI, mti), slog.String(keySTAN, req.STAN), slog.String(keyError, err.Error()))
		return nil, fmt.Errorf("bank: answer %s stan %s: %w", mti, req.STAN, err)
	}
	if resp.ResponseCode == rcApproved {
		b.stats.approved.Add(1)
	} else {
		b.stats.declined.Add(1)
	}
	if b.log.Enabled(ctx, slog.LevelDebug) {
		name := ""
		if iss != nil {
			name = iss.name
		}
		b.log.LogAttrs(ctx, slog.LevelDebug, "bank: handled",
			slog.String(keyMTI, mti), slog.String(keySTAN, req.STAN), slog.String(keyRRN, req.RRN),
			slog.String(keyPAN, paygate.MaskPAN(req.PAN)), slog.Int64(keyAmount, req.Amount),
			slog.String(keyIssuer, name), slog.String(keyResponseCode, resp.ResponseCode))
	}
	if iss != nil && iss.silent && req.Kind != paygate.NetworkCapture && req.Kind != paygate.NetworkReverse {
		b.log.LogAttrs(ctx, slog.LevelDebug, "bank: issuer does not answer",
			slog.String(keyMTI, mti), slog.String(keySTAN, req.STAN), slog.String(keyIssuer, iss.name))
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return out, nil
}

// process routes a request to its issuer and applies the issuer's rules. It
// returns the issuer that answered, nil when the acquirer answered itself,
// and the ledger entry to wait for before answering (nil for none).
func (b *Bank) process(req paygate.NetworkRequest, mti string) (paygate.NetworkResponse, *issuer, *entry) {
	b.stats.kinds[req.Kind].Add(1)
	answer := func(rc string) paygate.NetworkResponse { return paygate.NetworkResponse{ResponseCode: rc} }
	iss := b.route(req.PAN)
	if iss == nil {
		return answer(rcNoIssuer), nil, nil
	}
	// Advices are stored and forwarded by the acquirer: accepted even when
	// the issuer is down.
	advice := mti[2] == '2'
	if !advice && b.isDown(req.PAN) {
		return answer(rcIssuerDown), nil, nil // the acquirer answers
	}
	a := b.accounts[req.PAN]
	if a == nil {
		if req.Kind == paygate.NetworkReverse {
			return answer(rcApproved), iss, nil // nothing to reverse
		}
		return answer(rcInvalidCard), iss, nil
	}
	if req.Kind == paygate.NetworkVerify {
		return answer(a.verify(req)), iss, nil
	}
	// Whatever the account remembers of the RRN is its merchant's to
	// clear or prune at the next reconciliation.
	led := b.ledger(req.MerchantID, req.TerminalID, req.Currency)
	// The account's own copy of the number: the request's is a fresh
	// string for each message, and the ledger keeps this one per RRN.
	defer b.note(led, rrnKey(req.RRN), a.pan)
	switch req.Kind {
	case paygate.NetworkAuthorize, paygate.NetworkSale:
		resp, held, dup, w := a.authorize(req, led, b.authCode)
		if held {
			b.stats.holds.Add(1)
		}
		if dup {
			b.stats.duplicates.Add(1)
		}
		return resp, iss, w
	case paygate.NetworkRefund:
		resp, dup, w := a.refund(req, led, b.authCode)
		if dup {
			b.stats.duplicates.Add(1)
		}
		return resp, iss, w
	case paygate.NetworkCapture:
		return answer(rcApproved), iss, a.capture(req, led)
	case paygate.NetworkReverse:
		remaining := int64(0)
		if req.Amount < req.OriginalAmount {
			remaining = req.Amount
		}
		return answer(rcApproved), iss, a.reverse(req, led, remaining)
	}
	return answer(rcFormatError), iss, nil
}

// network answers an 0800 with an 0810 approving it.
func (b *Bank) network(msg []byte) ([]byte, error) {
	b.stats.network.Add(1)
	mg, err := iso8583.UnpackManagement(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		return nil, fmt.Errorf("bank: %w", err)
	}
	mg.MTI, mg.ResponseCode = paygate.ResponseMTI(mg.MTI), rcApproved
	return iso8583.PackManagement(mg)
}

// authSpace is the number of 6-character base-36 codes.
const authSpace = 36 * 36 * 36 * 36 * 36 * 36

// authCode returns a 6-character code, unique for the first authSpace
// calls: the sequence is multiplied by a number prime to 36, a bijection
// modulo authSpace.
func (b *Bank) authCode() string {
	n := (b.authBase + b.authSeq.Add(1)*1_000_003) % authSpace
	var c [6]byte
	for i := 5; i >= 0; i-- {
		c[i] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n%36]
		n /= 36
	}
	return string(c[:])
}

// Stats counts what Handle saw.
type Stats struct {
	Messages        int64 // every call to Handle
	Malformed       int64 // requests that could not be unpacked or answered
	Network         int64 // 0800 network management
	Authorizations  int64
	Sales           int64
	Refunds         int64
	Captures        int64
	Reversals       int64
	Verifications   int64 // account verifications (0100 of zero)
	Approved        int64
	Declined        int64
	HoldsPlaced     int64 // authorizations that placed a hold; duplicates do not
	Duplicates      int64 // authorizations, sales and refunds of an RRN already seen
	Reconciliations int64 // 0500s
	Uploads         int64 // 0320s
	// MailPhone counts authorizations and sales marked as mail/telephone
	// orders (DE22 manual key entry, DE25 08). The bank takes them like any
	// other: the CVC is checked when one is given, and none is required.
	MailPhone int64
}

type counters struct {
	messages, malformed, network atomic.Int64
	kinds                        [paygate.NetworkVerify + 1]atomic.Int64
	approved, declined           atomic.Int64
	holds, duplicates            atomic.Int64
	reconciliations, uploads     atomic.Int64
	mailPhone                    atomic.Int64
}

// Stats returns the counters so far.
func (b *Bank) Stats() Stats {
	c := &b.stats
	return Stats{
		Messages:        c.messages.Load(),
		Malformed:       c.malformed.Load(),
		Network:         c.network.Load(),
		Authorizations:  c.kinds[paygate.NetworkAuthorize].Load(),
		Sales:           c.kinds[paygate.NetworkSale].Load(),
		Refunds:         c.kinds[paygate.NetworkRefund].Load(),
		Captures:        c.kinds[paygate.NetworkCapture].Load(),
		Reversals:       c.kinds[paygate.NetworkReverse].Load(),
		Verifications:   c.kinds[paygate.NetworkVerify].Load(),
		Approved:        c.approved.Load(),
		Declined:        c.declined.Load(),
		HoldsPlaced:     c.holds.Load(),
		Duplicates:      c.duplicates.Load(),
		MailPhone:       c.mailPhone.Load(),
		Reconciliations: c.reconciliations.Load(),
		Uploads:         c.uploads.Load(),
	}
}
