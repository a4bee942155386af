package paygate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Gateway is the payment service: it validates requests, records every
// payment before its request goes to the network and completes it after,
// and undoes whatever a crash or a timeout left in doubt.
type Gateway struct {
	Merchants MerchantStore
	Payments  PaymentStore
	Cards     CardStore
	Vault     Vault
	Acquirer  Acquirer
	Clock     Clock
	Logger    *slog.Logger

	// NetworkTimeout is the acquirer's answer timeout. Work in doubt is
	// only recovered once it is older than InDoubtAfter, which must be
	// comfortably longer.
	NetworkTimeout time.Duration
	InDoubtAfter   time.Duration

	// AuthorizationLifetime is how long an uncaptured authorization lives
	// before it is reversed and marked expired (default 7 days).
	AuthorizationLifetime time.Duration
	// Sequences hands out blocks of reference numbers; nil keeps them in
	// memory (tests only: numbers would repeat after a restart).
	Sequences SequenceStore
	// ConflictTimeout is how long a request retries a write that keeps
	// losing races to other changes of the same payment before it gives
	// up with EBUSY (default DefaultConflictTimeout), and how long a store
	// failure is retried when recording a refund's answer. Recording an
	// answer the network gave is retried past lost races for as long as
	// it takes.
	ConflictTimeout time.Duration

	numbers     numberBlock
	refundLocks [64]sync.Mutex
	bg          background // reversals handed off by requests; see Shutdown
}

// numberBlock is this process's reserved block of reference numbers.
type numberBlock struct {
	mu        sync.Mutex
	next, end int64
	local     atomic.Int64
}

// numberBlockSize is how many reference numbers a process reserves at once.
const numberBlockSize = 1000

// NewGateway returns a gateway with sane defaults; the stores, vault and
// acquirer must be set by the caller.
func NewGateway() *Gateway {
	g := &Gateway{Clock: SystemClock{}, Logger: slog.Default(), NetworkTimeout: 10 * time.Second}
	g.numbers.local.Store(rand.Int64N(1e9) * 1000)
	return g
}

// now reads the clock at the precision the stores keep.
func (g *Gateway) now() time.Time { return g.Clock.Now().UTC().Truncate(TimePrecision) }

func (g *Gateway) inDoubtAfter() time.Duration {
	if g.InDoubtAfter > 0 {
		return g.InDoubtAfter
	}
	return 2*g.NetworkTimeout + 5*time.Second
}

// nextNumber returns the next reference number: unique across restarts and
// across gateway nodes, because blocks of them are reserved in the database.
func (g *Gateway) nextNumber(ctx context.Context) (int64, error) {
	b := &g.numbers
	if g.Sequences == nil {
		return b.local.Add(1), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == b.end {
		first, err := g.Sequences.Reserve(ctx, "rrn", numberBlockSize)
		if err != nil {
			return 0, fmt.Errorf("reserve reference numbers: %w", err)
		}
		b.next, b.end = first, first+numberBlockSize
	}
	n := b.next
	b.next++
	return n, nil
}

// references returns a fresh STAN (DE11, 6 digits, never 000000) and RRN
// (DE37, 12 digits). The RRN is unique for 10^12 messages; the STAN, its
// last six digits, for a million.
func (g *Gateway) references(ctx context.Context) (stan, rrn string, err error) {
	for {
		n, err := g.nextNumber(ctx)
		if err != nil {
			return "", "", err
		}
		if n%1_000_000 == 0 {
			continue
		}
		rrn = fmt.Sprintf("%012d", n%1_000_000_000_000)
		return rrn[6:], rrn, nil
	}
}

// PaymentRequest is a merchant's request for a payment.
type PaymentRequest struct {
	Amount         int64
	Currency       string
	Card           *Card  // a card as typed, or
	CardID         string // a stored card
	Capture        bool   // true: sale; false: authorization only
	Description    string
	OrderID        string
	Metadata       map[string]string
	ReceiptEmail   string
	RequireAck     *bool // nil: the merchant's setting
	IdempotencyKey string
}

func (r *PaymentRequest) validate() error {
	switch {
	case len(r.Description) > 1000:
		return ParamErrorf(EINVALID, "description", "Description must be at most 1000 characters.")
	case len(r.OrderID) > 100:
		return ParamErrorf(EINVALID, "order_id", "Order id must be at most 100 characters.")
	case len(r.Metadata) > 50:
		return ParamErrorf(EINVALID, "metadata", "Metadata may have at most 50 keys.")
	case len(r.ReceiptEmail) > 254 || (r.ReceiptEmail != "" && !validEmail(r.ReceiptEmail)):
		return ParamErrorf(EINVALID, "receipt_email", "Receipt e-mail must be an e-mail address such as name@example.com.")
	}
	for k, v := range r.Metadata {
		if k == "" || len(k) > 40 {
			return ParamErrorf(EINVALID, "metadata", "Metadata keys must be 1 to 40 characters.")
		}
		if len(v) > 500 {
			return ParamErrorf(EINVALID, "metadata["+sanitize(k, 40)+"]", "Metadata values must be at most 500 characters.")
		}
		if err := CheckFreeText("metadata", k+" "+v); err != nil {
			return err
		}
	}
	for _, f := range []struct{ param, value string }{
		{"description", r.Description}, {"order_id", r.OrderID}, {"receipt_email", r.ReceiptEmail},
	} {
		if err := CheckFreeText(f.param, f.value); err != nil {
			return err
		}
	}
	if r.Card == nil && r.CardID == "" {
		return ParamErrorf(EMISSING, "card", "A card or a card_id is required.")
	}
	if r.Card != nil && r.CardID != "" {
		return ParamErrorf(EINVALID, "card_id", "Give either card or card_id, not both.")
	}
	return nil
}

// validEmail accepts a bare address (no display name) with a dotted domain.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

// CreatePayment authorizes (and, for a sale, captures) a payment. A decline
// returns the recorded payment together with a *Error of code EDECLINED.
func (g *Gateway) CreatePayment(ctx context.Context, m *Merchant, req PaymentRequest) (*Payment, error) {
	now := g.now()
	money, err := ParseMoney(req.Amount, req.Currency)
	if err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	var card Card
	var sealed EncryptedPAN
	var summary CardSummary
	if req.Card != nil {
		card = *req.Card
		if err := card.Validate(now, false); err != nil {
			return nil, err
		}
		if sealed, err = g.Vault.Seal(card.Number); err != nil {
			return nil, fmt.Errorf("seal card: %w", err)
		}
		summary = card.Summary()
		summary.Fingerprint = g.Vault.Fingerprint(card.Number)
	} else {
		sc, err := g.Cards.Card(ctx, m.ID, req.CardID)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == ENOTFOUND {
				return nil, ParamErrorf(ENOTFOUND, "card_id", "No such card: %s.", sanitize(req.CardID, 40))
			}
			return nil, err
		}
		if err := ValidateExpiry(sc.Summary.ExpMonth, sc.Summary.ExpYear, now); err != nil {
			return nil, err
		}
		pan, err := g.Vault.Open(sc.PAN)
		if err != nil {
			return nil, fmt.Errorf("open stored card %s: %w", sc.ID, err)
		}
		card = Card{Number: pan, ExpMonth: sc.Summary.ExpMonth, ExpYear: sc.Summary.ExpYear, Name: sc.Name}
		sealed, summary = sc.PAN, sc.Summary
	}

	requireAck := m.RequireAck
	if req.RequireAck != nil {
		requireAck = *req.RequireAck
	}
	stan, ref, err := g.references(ctx)
	if err != nil {
		return nil, err
	}
	p := &Payment{
		ID:               NewID("pay", now),
		MerchantID:       m.ID,
		Status:           StatusPending,
		Amount:           money.Amount,
		Currency:         money.Currency,
		CaptureRequested: req.Capture,
		Card:             summary,
		PAN:              sealed,
		CardID:           req.CardID,
		STAN:             stan,
		RRN:              ref,
		TransmittedAt:    now,
		Description:      req.Description,
		OrderID:          req.OrderID,
		Metadata:         req.Metadata,
		ReceiptEmail:     req.ReceiptEmail,
		RequireAck:       requireAck,
		IdempotencyKey:   req.IdempotencyKey,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	// Record the payment before anything goes to the network.
	for try := 0; ; try++ {
		p.ConfirmationNumber = NewConfirmationNumber()
		err = g.Payments.CreatePayment(ctx, p)
		if !errors.Is(err, ErrDuplicate) || try == 3 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record payment: %w", err)
	}

	kind := NetworkAuthorize
	if req.Capture {
		kind = NetworkSale
	}
	nreq := g.networkRequest(m, p, kind)
	nreq.PAN, nreq.ExpMonth, nreq.ExpYear, nreq.CVC = card.Number, card.ExpMonth, card.ExpYear, card.CVC
	// The exchange must finish even if the merchant hangs up.
	nctx := context.WithoutCancel(ctx)
	resp, nerr := g.send(nctx, nreq, &p.Trace)
	card.CVC, nreq.CVC = "", "" // the CVC is not kept past the authorization (PCI DSS 3.3.1)

	log := g.Logger.With(LogPaymentID, p.ID, LogMerchantID, m.ID, LogSTAN, p.STAN)
	if errors.Is(nerr, ErrNotSent) {
		// Never left: nothing to reverse, the payment simply failed.
		log.Warn("authorization not sent: acquirer unreachable", LogError, nerr)
		d := LookupDecline("91")
		p.Status, p.ResponseCode, p.DeclineCode, p.DeclineReason = StatusFailed, d.ResponseCode, d.Code, d.Reason
		g.saveTrace(nctx, p)
		return p, DeclineError("91")
	}
	if nerr != nil {
		// In doubt: the issuer may have approved. The merchant gets its
		// decline now, at the network timeout; the reversal goes on in the
		// background (and if that fails, the payment stays pending and
		// recovery reverses it).
		log.Warn("authorization in doubt, reversing in the background", LogError, nerr)
		g.reverseInBackground(nctx, m, p, log)
		return p, DeclineError("91")
	}
	p.ResponseCode = resp.ResponseCode
	if !resp.Approved() {
		d := LookupDecline(resp.ResponseCode)
		p.Status, p.DeclineCode, p.DeclineReason = StatusDeclined, d.Code, d.Reason
		p.UpdatedAt = g.now()
		if err := g.Payments.UpdatePayment(nctx, p); err != nil {
			return nil, fmt.Errorf("record decline: %w", err)
		}
		log.Info("payment declined", LogCode, resp.ResponseCode)
		return p, DeclineError(resp.ResponseCode)
	}
	p.AuthCode = resp.AuthCode
	p.UpdatedAt = g.now()
	p.Status = StatusAuthorized
	if req.Capture {
		p.Status, p.AmountCaptured, p.CapturedAt = StatusCaptured, p.Amount, p.UpdatedAt
	}
	if p.RequireAck {
		p.AckDeadline = p.UpdatedAt.Add(m.EffectiveAckWindow())
	}
	if err := g.Payments.UpdatePayment(nctx, p); err != nil {
		// The payment stays pending in the store: recovery reverses it.
		return nil, fmt.Errorf("record approval: %w", err)
	}
	log.Info("payment approved", LogKind, kind.String())
	return p, nil
}

// networkRequest fills the parts of a request every message carries.
func (g *Gateway) networkRequest(m *Merchant, p *Payment, kind NetworkKind) NetworkRequest {
	return NetworkRequest{
		Kind:             kind,
		Amount:           p.Amount,
		Currency:         p.Currency,
		STAN:             p.STAN,
		RRN:              p.RRN,
		TransmissionTime: p.TransmittedAt,
		MerchantID:       m.AcquirerID,
		MerchantName:     m.Name,
		TerminalID:       m.TerminalID,
		MCC:              m.MCC,
		ExpMonth:         p.Card.ExpMonth,
		ExpYear:          p.Card.ExpYear,
	}
}

// openPAN decrypts the payment's card number for a follow-up message.
func (g *Gateway) openPAN(p *Payment) (string, error) {
	pan, err := g.Vault.Open(p.PAN)
	if err != nil {
		return "", fmt.Errorf("open card of payment %s: %w", p.ID, err)
	}
	return pan, nil
}

// followUp builds a capture or reversal quoting the payment's original.
func (g *Gateway) followUp(ctx context.Context, m *Merchant, p *Payment, kind NetworkKind, amount int64) (NetworkRequest, error) {
	pan, err := g.openPAN(p)
	if err != nil {
		return NetworkRequest{}, err
	}
	stan, _, err := g.references(ctx)
	if err != nil {
		return NetworkRequest{}, err
	}
	req := g.networkRequest(m, p, kind)
	req.PAN = pan
	req.Amount = amount
	req.STAN = stan
	req.TransmissionTime = g.now()
	req.AuthCode = p.AuthCode
	req.OriginalKind = NetworkAuthorize
	if p.CaptureRequested {
		req.OriginalKind = NetworkSale
	}
	req.OriginalSTAN = p.STAN
	req.OriginalTime = p.TransmittedAt
	req.OriginalAmount = p.Amount
	return req, nil
}

// errNotAccepted means the network answered a reversal or an advice with
// something other than 00: it has not been applied and must be sent again.
var errNotAccepted = errors.New("not accepted by the network")

// sendAccepted sends a reversal or a capture advice and succeeds only if the
// network answered 00.
func (g *Gateway) sendAccepted(ctx context.Context, req NetworkRequest, trace *[]TraceEntry) error {
	resp, err := g.send(ctx, req, trace)
	if err != nil {
		return err
	}
	if !resp.Approved() {
		return fmt.Errorf("%s answered %s: %w", req.Kind, resp.ResponseCode, errNotAccepted)
	}
	return nil
}

// reverseOriginal sends a full reversal of the payment's original request
// and, on success, marks the payment failed.
func (g *Gateway) reverseOriginal(ctx context.Context, m *Merchant, p *Payment) error {
	req, err := g.followUp(ctx, m, p, NetworkReverse, p.Amount)
	if err != nil {
		return err
	}
	// A reversal advice (0420): stored (the payment stays pending) and
	// forwarded until the network takes it; again as 0421.
	req.Advice, req.Repeat = true, sentBefore(p.Trace, NetworkReverse, p.RRN)
	if err := g.sendAccepted(ctx, req, &p.Trace); err != nil {
		return fmt.Errorf("reverse payment %s: %w", p.ID, err)
	}
	d := LookupDecline("91")
	p.Status, p.ResponseCode, p.DeclineCode, p.DeclineReason = StatusFailed, d.ResponseCode, d.Code, d.Reason
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); err != nil {
		return fmt.Errorf("record reversal: %w", err)
	}
	return nil
}

// Payment returns one of the merchant's payments.
func (g *Gateway) Payment(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.Payments.Payment(ctx, m.ID, id)
}

// PaymentByIdempotencyKey returns what a request with that key created.
func (g *Gateway) PaymentByIdempotencyKey(ctx context.Context, m *Merchant, key string) (*Payment, error) {
	return g.Payments.PaymentByIdempotencyKey(ctx, m.ID, key)
}

// RefundByIdempotencyKey returns the refund a request with that key created.
func (g *Gateway) RefundByIdempotencyKey(ctx context.Context, m *Merchant, key string) (*Refund, error) {
	return g.Payments.RefundByIdempotencyKey(ctx, m.ID, key)
}

// ListPayments returns a page of the merchant's payments, newest first.
func (g *Gateway) ListPayments(ctx context.Context, m *Merchant, f PaymentFilter) ([]*Payment, bool, error) {
	f.MerchantID = m.ID
	switch {
	case f.Limit == 0:
		f.Limit = 10
	case f.Limit < 0 || f.Limit > 100:
		return nil, false, ParamErrorf(EINVALID, "limit", "Limit must be between 1 and 100.")
	}
	if f.StartingAfter != "" {
		// A cursor that is none of the merchant's payments would page
		// from wherever its id sorts: refuse it rather than guess.
		if _, err := g.Payments.Payment(ctx, m.ID, f.StartingAfter); ErrorCode(err) == ENOTFOUND {
			return nil, false, ParamErrorf(EMALFORMED, "starting_after", "Parameter \"starting_after\" must be the id of one of your payments; there is no payment %s.", sanitize(f.StartingAfter, 40))
		} else if err != nil {
			return nil, false, err
		}
	}
	return g.Payments.Payments(ctx, f)
}

// transition loads a payment, lets change validate and modify it, and saves
// it, retrying when another request changed the payment in between.
func (g *Gateway) transition(ctx context.Context, merchantID, id string, change func(p *Payment) error) (*Payment, error) {
	for try := 0; ; try++ {
		p, err := g.Payments.Payment(ctx, merchantID, id)
		if err != nil {
			return nil, err
		}
		if err := change(p); err != nil {
			return p, err
		}
		p.UpdatedAt = g.now()
		err = g.Payments.UpdatePayment(ctx, p)
		if errors.Is(err, ErrVersionConflict) && try < 5 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update payment %s: %w", id, err)
		}
		return p, nil
	}
}

// Capture captures an authorization, fully (amount 0) or partly; the rest
// of the hold is released.
func (g *Gateway) Capture(ctx context.Context, m *Merchant, id string, amount int64) (*Payment, error) {
	p, err := g.transition(ctx, m.ID, id, func(p *Payment) error {
		amt, err := p.CheckCapture(amount)
		if err != nil {
			return err
		}
		p.Status, p.AmountCaptured = StatusCapturing, amt
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inDoubtOK(g.finishCapture(context.WithoutCancel(ctx), m, p, false))
}

// appendTrace saves trace entries on the payment, whatever its state.
func (g *Gateway) appendTrace(ctx context.Context, p *Payment, trace []TraceEntry) (*Payment, error) {
	if len(trace) == 0 {
		return p, nil
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(cur *Payment) error {
		cur.Trace = append(cur.Trace, trace...)
		return nil
	})
}

// saveTrace saves p (with its trace) as it is; a lost race only loses
// footprints, never money.
func (g *Gateway) saveTrace(ctx context.Context, p *Payment) {
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); err != nil {
		g.Logger.Warn("save trace", LogPaymentID, p.ID, LogError, err)
	}
}

// inDoubtOK turns "sent but not acknowledged yet" into success: the change
// is recorded and recovery will deliver it; the merchant sees the payment
// as capturing or voiding meanwhile.
func inDoubtOK(p *Payment, err error) (*Payment, error) {
	if err != nil && p != nil && p.Status.InDoubt() {
		return p, nil
	}
	return p, err
}

// finishCapture sends the capture advice of a payment in capturing state.
// An advice cannot be declined; if it is not acknowledged the payment stays
// capturing and recovery sends it again (errNotAccepted or the network
// error is returned for recovery to count; Capture shows the payment).
func (g *Gateway) finishCapture(ctx context.Context, m *Merchant, p *Payment, repeat bool) (*Payment, error) {
	req, err := g.followUp(ctx, m, p, NetworkCapture, p.AmountCaptured)
	if err != nil {
		return nil, err
	}
	req.Repeat = repeat || sentBefore(p.Trace, NetworkCapture, p.RRN) // 0221
	var trace []TraceEntry
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.Warn("capture advice not acknowledged, left for recovery", LogPaymentID, p.ID, LogError, err)
		if cur, terr := g.appendTrace(ctx, p, trace); terr == nil {
			p = cur
		}
		return p, fmt.Errorf("capture of %s: %w", p.ID, errNotAccepted)
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(p *Payment) error {
		p.Trace = append(p.Trace, trace...)
		if p.Status != StatusCapturing {
			return nil
		}
		p.Status, p.CapturedAt = StatusCaptured, g.now()
		return nil
	})
}

// Void undoes an uncaptured authorization (releasing the hold) or an
// unsettled captured payment.
func (g *Gateway) Void(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.void(ctx, m, id, VoidRequested)
}

func (g *Gateway) void(ctx context.Context, m *Merchant, id, reason string) (*Payment, error) {
	p, err := g.transition(ctx, m.ID, id, func(p *Payment) error {
		if reason == VoidAckTimeout && !p.AckedAt.IsZero() {
			return Errorf(ECONFLICT, "Payment %s was acknowledged.", p.ID)
		}
		if reason == VoidExpired && p.Status != StatusAuthorized {
			return Errorf(ECONFLICT, "Payment %s is no longer an open authorization.", p.ID)
		}
		if err := p.CheckVoid(); err != nil {
			return err
		}
		p.Status, p.VoidReason = StatusVoiding, reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inDoubtOK(g.finishVoid(context.WithoutCancel(ctx), m, p, false))
}

// finishVoid sends the reversal of a payment in voiding state. If the
// network does not accept it, the payment stays voiding and recovery sends
// it again.
func (g *Gateway) finishVoid(ctx context.Context, m *Merchant, p *Payment, repeat bool) (*Payment, error) {
	// A full reversal (Amount 0): the issuer releases the hold or undoes
	// whatever was posted, the whole of it.
	req, err := g.followUp(ctx, m, p, NetworkReverse, 0)
	if err != nil {
		return nil, err
	}
	req.Repeat = repeat || sentBefore(p.Trace, NetworkReverse, p.RRN) // 0401
	var trace []TraceEntry
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.Warn("reversal not accepted, left for recovery", LogPaymentID, p.ID, LogError, err)
		if cur, terr := g.appendTrace(ctx, p, trace); terr == nil {
			p = cur
		}
		return p, fmt.Errorf("void of %s: %w", p.ID, errNotAccepted)
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(p *Payment) error {
		p.Trace = append(p.Trace, trace...)
		if p.Status != StatusVoiding {
			return nil
		}
		p.Status, p.VoidedAt = StatusVoided, g.now()
		if p.VoidReason == VoidExpired {
			p.Status = StatusExpired
		}
		return nil
	})
}

// Refund returns amount (0 = all that is left) of a captured payment.
//
// Concurrent refunds of one payment go one after another: each reserves its
// amount on the payment (optimistic locking on its Version) before it is
// sent, so together they never exceed what is refundable. On this node the
// reservations and settlements of a payment's refunds are serialized; a
// reservation that loses a race (to another node, or to another change of
// the payment) is retried with jittered backoff for up to ConflictTimeout,
// then refused with EBUSY: nothing was sent, the merchant may retry.
func (g *Gateway) Refund(ctx context.Context, m *Merchant, id string, amount int64, reason, idempotencyKey string) (*Refund, error) {
	if len(reason) > 500 {
		return nil, ParamErrorf(EINVALID, "reason", "Reason must be at most 500 characters.")
	}
	if err := CheckFreeText("reason", reason); err != nil {
		return nil, err
	}
	stan, ref, err := g.references(ctx)
	if err != nil {
		return nil, err
	}
	now := g.now()
	r := &Refund{
		ID: NewID("re", now), MerchantID: m.ID, Status: RefundPending, Reason: reason, STAN: stan, RRN: ref,
		IdempotencyKey: idempotencyKey,
	}
	deadline := time.Now().Add(g.conflictTimeout())
	for try := 0; ; try++ {
		p, err := g.reserveRefund(ctx, m.ID, id, amount, r)
		if errors.Is(err, ErrVersionConflict) {
			if time.Now().After(deadline) {
				g.Logger.Warn("refund not reserved: the payment kept changing", LogPaymentID, id, "tries", try+1)
				return nil, Errorf(EBUSY, "Payment %s is being changed by other requests; nothing was refunded. Retry shortly.", id)
			}
			if err := conflictBackoff(ctx, try); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return g.finishRefund(context.WithoutCancel(ctx), m, p, r)
	}
}

// reserveRefund records r as pending on the payment, its amount reserved,
// if the payment allows it. It returns ErrVersionConflict when the payment
// changed between reading and writing.
func (g *Gateway) reserveRefund(ctx context.Context, merchantID, id string, amount int64, r *Refund) (*Payment, error) {
	mu := g.refundLock(id)
	mu.Lock()
	defer mu.Unlock()
	p, err := g.Payments.Payment(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	amt, err := p.CheckRefund(amount)
	if err != nil {
		return nil, err
	}
	now := g.now()
	r.PaymentID, r.Amount, r.Currency = p.ID, amt, p.Currency
	r.TransmittedAt, r.CreatedAt, r.UpdatedAt = now, now, now
	p.AmountRefunded += amt // reserved while in flight
	p.UpdatedAt = now
	if err := g.Payments.SaveRefund(ctx, p, r); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("record refund: %w", err)
	}
	return p, nil
}

// finishRefund sends a pending refund (processing code 20) and records the answer.
func (g *Gateway) finishRefund(ctx context.Context, m *Merchant, p *Payment, r *Refund) (*Refund, error) {
	pan, err := g.openPAN(p)
	if err != nil {
		return nil, err
	}
	req := g.networkRequest(m, p, NetworkRefund)
	req.PAN, req.Amount, req.STAN, req.RRN, req.TransmissionTime = pan, r.Amount, r.STAN, r.RRN, r.TransmittedAt
	var trace []TraceEntry
	resp, err := g.send(ctx, req, &trace)
	if err != nil {
		g.Logger.Warn("refund in doubt, reversing", LogRefundID, r.ID, LogError, err)
		return r, g.reverseRefund(ctx, m, p, r, DeclineError("91"), trace)
	}
	r.ResponseCode = resp.ResponseCode
	if !resp.Approved() {
		return r, g.settleRefund(ctx, p, r, RefundFailed, DeclineError(resp.ResponseCode), trace)
	}
	return r, g.settleRefund(ctx, p, r, RefundSucceeded, nil, trace)
}

// reverseRefund undoes a refund whose answer never came.
func (g *Gateway) reverseRefund(ctx context.Context, m *Merchant, p *Payment, r *Refund, result error, trace []TraceEntry) error {
	pan, err := g.openPAN(p)
	if err != nil {
		return err
	}
	stan, _, err := g.references(ctx)
	if err != nil {
		return err
	}
	req := g.networkRequest(m, p, NetworkReverse)
	req.PAN, req.Amount, req.STAN, req.RRN, req.TransmissionTime = pan, r.Amount, stan, r.RRN, g.now()
	req.OriginalKind, req.OriginalSTAN, req.OriginalTime, req.OriginalAmount = NetworkRefund, r.STAN, r.TransmittedAt, r.Amount
	req.Advice, req.Repeat = true, sentBefore(append(p.Trace, trace...), NetworkReverse, r.RRN)
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.Warn("refund reversal failed, left for recovery", LogRefundID, r.ID, LogError, err)
		g.appendTrace(ctx, p, trace)
		if result == nil {
			return fmt.Errorf("reverse refund %s: %w", r.ID, err)
		}
		return result
	}
	r.ResponseCode = "91"
	return g.settleRefund(ctx, p, r, RefundFailed, result, trace)
}

// settleRefund records a refund's final status on it and on its payment,
// and returns result. A refund that is no longer pending (recovery settled
// it meanwhile) is left as it is, and its recorded outcome is returned.
//
// Losing a race to another change of the payment is retried for as long as
// it takes, with jittered backoff: every lost race is another request's
// progress, and an answer from the bank, above all an approval, must be
// recorded, never left pending for recovery to reverse (the cardholder
// credited, then debited). Recovery does not take the refund meanwhile: it
// only looks at payments untouched for InDoubtAfter. Store failures are
// retried for up to ConflictTimeout; then the refund stays pending and the
// error is returned (not a final outcome: recovery settles it).
func (g *Gateway) settleRefund(ctx context.Context, p *Payment, r *Refund, status RefundStatus, result error, trace []TraceEntry) error {
	var failing time.Time
	for try := 0; ; try++ {
		err := g.saveSettlement(ctx, p.MerchantID, p.ID, r, status, trace)
		switch {
		case err == nil:
			return result
		case errors.Is(err, errSettledMeanwhile):
			if r.Status != status {
				g.Logger.Warn("refund was settled meanwhile", LogRefundID, r.ID, LogPaymentID, p.ID, "status", r.Status, "answer", status)
			}
			if r.Status == RefundSucceeded {
				return nil
			}
			return DeclineError(r.ResponseCode)
		case errors.Is(err, ErrVersionConflict):
			failing = time.Time{}
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) > g.conflictTimeout():
			return fmt.Errorf("record refund %s: %w", r.ID, err)
		}
		if err := conflictBackoff(ctx, try); err != nil {
			return fmt.Errorf("record refund %s: %w", r.ID, err)
		}
	}
}

// errSettledMeanwhile means a refund about to be settled was already.
var errSettledMeanwhile = errors.New("refund settled meanwhile")

// saveSettlement loads the payment and records r's final status on both,
// on success or when r was settled meanwhile (errSettledMeanwhile) copying
// what is recorded into r.
func (g *Gateway) saveSettlement(ctx context.Context, merchantID, id string, r *Refund, status RefundStatus, trace []TraceEntry) error {
	mu := g.refundLock(id)
	mu.Lock()
	defer mu.Unlock()
	p, err := g.Payments.Payment(ctx, merchantID, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(p.Refunds, func(cur *Refund) bool { return cur.ID == r.ID })
	if i < 0 {
		return fmt.Errorf("refund %s is not recorded on payment %s", r.ID, id)
	}
	if cur := p.Refunds[i]; cur.Status != RefundPending {
		*r = *cur
		return errSettledMeanwhile
	}
	s := *r
	s.Status, s.UpdatedAt = status, g.now()
	p.Trace = append(p.Trace, trace...)
	if status == RefundFailed {
		p.AmountRefunded -= s.Amount
	}
	p.Status, p.UpdatedAt = p.refundStatus(), s.UpdatedAt
	if err := g.Payments.SaveRefund(ctx, p, &s); err != nil {
		return err
	}
	*r = s
	return nil
}

// DefaultConflictTimeout is how long a request retries a write that keeps
// losing races before it gives up with EBUSY.
const DefaultConflictTimeout = 5 * time.Second

func (g *Gateway) conflictTimeout() time.Duration {
	if g.ConflictTimeout > 0 {
		return g.ConflictTimeout
	}
	return DefaultConflictTimeout
}

// conflictBackoff waits before attempt try+1 of a write that lost a race:
// a random time, growing with try up to about 50 ms, so that contenders
// spread out instead of colliding again.
func conflictBackoff(ctx context.Context, try int) error {
	d := time.Millisecond << min(try, 5)
	t := time.NewTimer(d/2 + rand.N(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refundLock returns the lock serializing, on this node, the reservations
// and settlements of the refunds of payment id (a stripe shared with other
// payments). Other nodes are kept out by the payment's Version.
func (g *Gateway) refundLock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &g.refundLocks[h.Sum32()%uint32(len(g.refundLocks))]
}

// Ack records the merchant's receipt acknowledgment (seed 001, step 3).
func (g *Gateway) Ack(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.transition(ctx, m.ID, id, func(p *Payment) error {
		if err := p.CheckAck(); err != nil {
			return err
		}
		if p.AckedAt.IsZero() {
			p.AckedAt = g.now()
		}
		return nil
	})
}

// ExpireUnacknowledged voids approvals whose acknowledgment window passed,
// so nobody is charged for an order the merchant never saw.
func (g *Gateway) ExpireUnacknowledged(ctx context.Context) (int, error) {
	list, err := g.Payments.AckOverdue(ctx, g.now(), 100)
	if err != nil {
		return 0, fmt.Errorf("list overdue acknowledgments: %w", err)
	}
	return g.voidAll(ctx, list, VoidAckTimeout, "payment voided: not acknowledged in time")
}

// DefaultAuthorizationLifetime is how long an authorization may wait for
// its capture.
const DefaultAuthorizationLifetime = 7 * 24 * time.Hour

// ExpireAuthorizations reverses authorizations left uncaptured past their
// lifetime: the issuer releases the hold and the payment becomes expired.
func (g *Gateway) ExpireAuthorizations(ctx context.Context) (int, error) {
	life := g.AuthorizationLifetime
	if life <= 0 {
		life = DefaultAuthorizationLifetime
	}
	list, err := g.Payments.StaleAuthorizations(ctx, g.now().Add(-life), 100)
	if err != nil {
		return 0, fmt.Errorf("list stale authorizations: %w", err)
	}
	return g.voidAll(ctx, list, VoidExpired, "authorization expired")
}

// voidAll voids payments for the system, skipping those that moved on.
func (g *Gateway) voidAll(ctx context.Context, list []*Payment, reason, msg string) (int, error) {
	n := 0
	for _, p := range list {
		m, err := g.Merchants.Merchant(ctx, p.MerchantID)
		if err != nil {
			return n, fmt.Errorf("merchant of payment %s: %w", p.ID, err)
		}
		if _, err := g.void(ctx, m, p.ID, reason); err != nil {
			if ErrorCode(err) == ECONFLICT {
				continue // acknowledged, captured or changed meanwhile
			}
			return n, err
		}
		g.Logger.Info(msg, LogPaymentID, p.ID, LogMerchantID, p.MerchantID)
		n++
	}
	return n, nil
}

// Recover finishes or undoes every network exchange left in doubt by a
// crash or a timeout: pending authorizations are reversed (never charged
// twice), captures and voids are sent again, pending refunds are reversed.
// It returns how many payments it settled; those still in doubt (the
// network did not accept) are moved to the back of the queue for the next
// round.
func (g *Gateway) Recover(ctx context.Context) (int, error) {
	cutoff := g.now().Add(-g.inDoubtAfter())
	list, err := g.Payments.InDoubt(ctx, cutoff, 100)
	if err != nil {
		return 0, fmt.Errorf("list payments in doubt: %w", err)
	}
	n := 0
	for _, p := range list {
		// Claim the payment first: the claim bumps its version and its
		// updated time, so of several nodes sweeping at once only one wins
		// it, and it will not be in doubt again for another InDoubtAfter —
		// the lease after which another node takes over if this one dies.
		p.UpdatedAt = g.now()
		if err := g.Payments.UpdatePayment(ctx, p); errors.Is(err, ErrVersionConflict) {
			continue // another node has it, or its own request finished
		} else if err != nil {
			return n, fmt.Errorf("claim payment %s: %w", p.ID, err)
		}
		m, err := g.Merchants.Merchant(ctx, p.MerchantID)
		if err != nil {
			return n, fmt.Errorf("merchant of payment %s: %w", p.ID, err)
		}
		log := g.Logger.With(LogPaymentID, p.ID, LogMerchantID, p.MerchantID)
		var errs []error
		switch p.Status {
		case StatusPending:
			if err = g.reverseOriginal(ctx, m, p); err != nil {
				g.saveTrace(ctx, p)
			}
			errs = append(errs, err)
			log.Info("payment in doubt: reversal", "done", err == nil, LogError, err)
		case StatusCapturing:
			// It may have gone out before: a repeat (0221).
			_, err = g.finishCapture(ctx, m, p, true)
			errs = append(errs, err)
			log.Info("capture in doubt: advice sent again", "done", err == nil, LogError, err)
		case StatusVoiding:
			_, err = g.finishVoid(ctx, m, p, true)
			errs = append(errs, err)
			log.Info("void in doubt: reversal sent again", "done", err == nil, LogError, err)
		}
		for _, r := range p.Refunds {
			// Only refunds themselves older than the cutoff: a younger
			// one may still be on the network.
			if r.Status == RefundPending && r.UpdatedAt.Before(cutoff) {
				if cur, err := g.Payments.Payment(ctx, p.MerchantID, p.ID); err == nil {
					p = cur
				}
				rerr := g.reverseRefund(ctx, m, p, r, nil, nil)
				errs = append(errs, rerr)
				log.Info("refund in doubt: reversal", LogRefundID, r.ID, "done", rerr == nil, LogError, rerr)
			}
		}
		if errors.Join(errs...) != nil {
			continue // still in doubt; the claim put it at the back of the queue
		}
		n++
	}
	return n, nil
}

// CreateCard vaults a card for later merchant-initiated charges, once its
// issuer has verified it (verifyCard): a card the issuer declines is
// refused with its decline and nothing is stored. The CVC, if given, goes
// to the issuer with the verification and is never stored.
func (g *Gateway) CreateCard(ctx context.Context, m *Merchant, card Card) (*StoredCard, error) {
	now := g.now()
	if err := card.Validate(now, false); err != nil {
		return nil, err
	}
	if err := g.verifyCard(ctx, m, card); err != nil {
		return nil, err
	}
	card.CVC = "" // not kept past the verification (PCI DSS 3.3.1)
	sealed, err := g.Vault.Seal(card.Number)
	if err != nil {
		return nil, fmt.Errorf("seal card: %w", err)
	}
	sc := &StoredCard{ID: NewID("card", now), MerchantID: m.ID, Summary: card.Summary(), Name: card.Name, PAN: sealed, CreatedAt: now}
	sc.Summary.Fingerprint = g.Vault.Fingerprint(card.Number)
	if err := g.Cards.CreateCard(ctx, sc); err != nil {
		return nil, fmt.Errorf("store card: %w", err)
	}
	return sc, nil
}

// verifyCard sends an account verification: an authorization of zero
// carrying the CVC, which the issuer answers from the card's status,
// expiry and CVC. A decline is returned as the decline. A verification
// that gets no answer (or never left) is refused as 91: the card is not
// stored, and nothing needs reversing, since an authorization of zero
// places no hold.
func (g *Gateway) verifyCard(ctx context.Context, m *Merchant, card Card) error {
	stan, rrn, err := g.references(ctx)
	if err != nil {
		return err
	}
	// DE49 must name a currency; for an amount of zero any will do.
	usd, _ := LookupCurrency("USD")
	req := NetworkRequest{
		Kind: NetworkVerify, PAN: card.Number, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, CVC: card.CVC,
		Currency: usd, STAN: stan, RRN: rrn, TransmissionTime: g.now(),
		MerchantID: m.AcquirerID, MerchantName: m.Name, TerminalID: m.TerminalID, MCC: m.MCC,
	}
	var trace []TraceEntry // no payment to keep it on: the log line says what happened
	resp, err := g.send(ctx, req, &trace)
	req.CVC = ""
	log := g.Logger.With(LogMerchantID, m.ID, LogCard, MaskPAN(card.Number), LogSTAN, stan, LogRRN, rrn)
	if err != nil {
		log.Warn("card verification got no answer: card refused", LogError, err)
		return DeclineError("91")
	}
	if !resp.Approved() {
		log.Info("card verification declined", LogCode, resp.ResponseCode)
		return DeclineError(resp.ResponseCode)
	}
	log.Info("card verified")
	return nil
}

// Card returns one of the merchant's stored cards.
func (g *Gateway) Card(ctx context.Context, m *Merchant, id string) (*StoredCard, error) {
	return g.Cards.Card(ctx, m.ID, id)
}

// CloseBatch marks the merchant's captured, unsettled payments as settled.
// It is the cut-off of the end-of-day batch: after it a payment can no
// longer be voided, only refunded. Clearing and deposits build on it.
func (g *Gateway) CloseBatch(ctx context.Context, m *Merchant) (int64, error) {
	n, err := g.Payments.MarkSettled(ctx, m.ID, g.now())
	if err != nil {
		return 0, fmt.Errorf("close batch of %s: %w", m.ID, err)
	}
	return n, nil
}
