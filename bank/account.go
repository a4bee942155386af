package bank

import (
	"sync"

	"github.com/paygate/paygate"
)

// Status is the state of a cardholder account.
type Status int

// Account statuses.
const (
	StatusActive Status = iota
	StatusLost
	StatusStolen
	StatusExpired
	StatusBlocked
	StatusRestricted
)

func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusLost:
		return "lost"
	case StatusStolen:
		return "stolen"
	case StatusExpired:
		return "expired"
	case StatusBlocked:
		return "blocked"
	case StatusRestricted:
		return "restricted"
	}
	return "unknown"
}

// Account is a copy of a cardholder account, for tests. Amounts are minor
// units. Available == Posted - Held always holds.
type Account struct {
	Issuer    string
	Status    Status
	Limit     int64            // credit limit
	Available int64            // open to buy: what the next authorization may use
	Posted    int64            // ledger balance: Limit minus posted debits plus credits
	Held      int64            // sum of open holds
	Holds     map[string]int64 // open holds by RRN
	TxnLimit  int64            // per-transaction limit; 0 means none
	ExpMonth  int
	ExpYear   int
}

// Response codes the issuers give.
const (
	rcApproved     = "00"
	rcDoNotHonor   = "05"
	rcInvalidAmt   = "13"
	rcInvalidCard  = "14"
	rcNoIssuer     = "15"
	rcFormatError  = "30"
	rcLost         = "41"
	rcStolen       = "43"
	rcNoFunds      = "51"
	rcExpired      = "54"
	rcNotPermitted = "57"
	rcFraud        = "59"
	rcOverLimit    = "61"
	rcRestricted   = "62"
	rcIssuerDown   = "91"
	rcDuplicate    = "94"
	rcMalfunction  = "96"
	rcIncorrectCVC = "N7"
)

// rrn is a DE37 value as a map key; the field is always 12 characters.
type rrn [12]byte

func rrnKey(s string) (k rrn) {
	copy(k[:], s)
	return k
}

// txn is what an account remembers of one RRN, until the reconciliation
// that clears it (or, for an authorization never captured, until its hold
// is gone and a reconciliation of its merchant comes).
type txn struct {
	kind     paygate.NetworkKind // of the message that created it
	rc       string              // the answer given, for duplicates
	authCode string
	held     int64 // still held
	posted   int64 // the debit to post at clearing: a sale's amount, a capture's final amount
	credited int64 // the credit to make at clearing: a refund's amount
	captured bool
	led      *ledger // the merchant, terminal and currency it settles with
	at       int64   // DE7 of the message that created it, Unix seconds
}

// pending reports whether the txn is an item of its merchant's next
// reconciliation: a debit or a credit not cleared yet.
func (t *txn) pending() bool { return t.posted > 0 || t.credited > 0 }

// account is a cardholder account. Every field below mu is guarded by it;
// the rest is fixed when the bank is built.
//
// With a journal, every change is queued to it while mu is held, so the
// journal sees an account's changes in the order they were made; the
// caller waits for the returned entry (after unlocking) before it answers.
// A method that changes nothing returns the account's last entry, so that
// an answer drawn from a change not yet on disk (a duplicate's) waits for
// it too.
type account struct {
	pan        string
	issuer     *issuer
	journal    *journal // nil: in memory only
	limit      int64
	txnLimit   int64
	expMonth   int
	expYear    int
	decline    string // every authorization and sale gets this code
	cvcDecline string // the code when a CVC is present

	mu        sync.Mutex
	status    Status
	available int64
	posted    int64
	held      int64
	txns      map[rrn]txn
	last      *entry // the last change queued to the journal
}

// record queues the account's state and t (under k) to the journal; a.mu
// is held. Without a journal it returns nil.
func (a *account) record(k rrn, t txn) *entry {
	if a.journal == nil {
		return nil
	}
	e := a.entry(k, t, false)
	a.journal.enqueue(e) // on failure e is done with the error
	a.last = e
	return e
}

// entry makes the journal entry of the account's state and t (under k;
// drop: k is forgotten); a.mu is held.
func (a *account) entry(k rrn, t txn, drop bool) *entry {
	return &entry{
		pan:  a.pan,
		row:  accountRow{status: a.status, limit: a.limit, available: a.available, posted: a.posted, held: a.held},
		rrn:  k,
		txn:  t,
		drop: drop,
		done: make(chan struct{}),
	}
}

// check applies the issuer's rules to an authorization or a sale.
func (a *account) check(req paygate.NetworkRequest) string {
	if rc := a.checkCard(req); rc != rcApproved {
		return rc
	}
	switch {
	case req.Kind == paygate.NetworkSale && req.Amount <= 0:
		return rcInvalidAmt
	case a.txnLimit > 0 && req.Amount > a.txnLimit:
		return rcOverLimit
	case req.Amount > a.available:
		return rcNoFunds
	}
	return rcApproved
}

// checkCard applies the rules about the card itself, not the amount: the
// account's status, the expiry, the card's fixed decline and the CVC.
func (a *account) checkCard(req paygate.NetworkRequest) string {
	switch a.status {
	case StatusLost:
		return rcLost
	case StatusStolen:
		return rcStolen
	case StatusExpired:
		return rcExpired
	case StatusBlocked:
		return rcDoNotHonor
	case StatusRestricted:
		return rcRestricted
	}
	if req.ExpMonth > 0 && !req.TransmissionTime.IsZero() {
		t := req.TransmissionTime.UTC()
		if req.ExpYear*12+req.ExpMonth < t.Year()*12+int(t.Month()) {
			return rcExpired
		}
	}
	switch {
	case a.decline != "":
		return a.decline
	case a.cvcDecline != "" && req.CVC != "":
		return a.cvcDecline
	}
	return rcApproved
}

// verify answers an account verification: the card's rules only (checkCard),
// no funds or limits. It places no hold, posts nothing and remembers
// nothing, so a repeat is simply checked again; an approval carries no
// auth code, as nothing was authorized.
func (a *account) verify(req paygate.NetworkRequest) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checkCard(req)
}

// authorize places a hold (authorization) or posts (sale). A repeat of an
// RRN the account has seen gets the original answer and changes nothing; an
// RRN seen on another kind of message gets 94. held reports whether a hold
// was placed.
func (a *account) authorize(req paygate.NetworkRequest, led *ledger, authCode func() string) (resp paygate.NetworkResponse, held, dup bool, w *entry) {
	k := rrnKey(req.RRN)
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.txns[k]; ok {
		if t.kind != req.Kind {
			return paygate.NetworkResponse{ResponseCode: rcDuplicate}, false, true, a.last
		}
		return paygate.NetworkResponse{ResponseCode: t.rc, AuthCode: t.authCode}, false, true, a.last
	}
	t := txn{kind: req.Kind, rc: a.check(req), led: led, at: req.TransmissionTime.Unix()}
	if t.rc == rcApproved {
		// Both hold; a sale's amount is posted when it is cleared.
		t.authCode = authCode()
		a.available -= req.Amount
		a.held += req.Amount
		t.held = req.Amount
		if req.Kind == paygate.NetworkSale {
			t.posted = req.Amount
		} else {
			held = req.Amount > 0
		}
	}
	a.txns[k] = t
	return paygate.NetworkResponse{ResponseCode: t.rc, AuthCode: t.authCode}, held, false, a.record(k, t)
}

// capture records the final amount of an authorization, to be posted when
// it is cleared; the hold stays until then. It is an advice: always
// accepted. Without an authorization it is recorded anyway (force post,
// with no hold); a repeat changes nothing.
func (a *account) capture(req paygate.NetworkRequest, led *ledger) *entry {
	k := rrnKey(req.RRN)
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.txns[k]
	if ok && (t.captured || t.kind != paygate.NetworkAuthorize) {
		return a.last
	}
	if !ok {
		t = txn{kind: paygate.NetworkCapture, rc: rcApproved, at: req.TransmissionTime.Unix()}
	}
	if t.led == nil {
		t.led = led
	}
	t.posted = req.Amount
	t.captured = true
	a.txns[k] = t
	return a.record(k, t)
}

// reverse brings what an RRN holds, posted or credited down to remaining
// (0 for a full reversal). A repeat changes nothing. A reversal of an RRN
// not seen yet overtook its original on the way (the original was sent on
// a connection read late, or cut): it is remembered, so that the original,
// when it comes, is refused as a duplicate (94) and changes nothing, as
// acquirers match a reversal that comes before its original.
//
// Before clearing, what is still to post or credit is brought down with
// the hold. After clearing the RRN is forgotten: a late reversal is taken
// for one that overtook its original, and the posting stands (a cleared
// transaction is taken back by a refund).
func (a *account) reverse(req paygate.NetworkRequest, led *ledger, remaining int64) *entry {
	k := rrnKey(req.RRN)
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.txns[k]
	if !ok {
		t = txn{kind: paygate.NetworkReverse, rc: rcApproved, led: led, at: req.TransmissionTime.Unix()}
		a.txns[k] = t
		return a.record(k, t)
	}
	before := t
	if d := t.held - remaining; d > 0 {
		a.held -= d
		a.available += d
		t.held = remaining
	}
	t.posted = min(t.posted, remaining)
	t.credited = min(t.credited, remaining)
	if t == before {
		return a.last
	}
	a.txns[k] = t
	return a.record(k, t)
}

// refund records a credit, made when it is cleared. A repeat of the RRN
// gets the original answer.
func (a *account) refund(req paygate.NetworkRequest, led *ledger, authCode func() string) (resp paygate.NetworkResponse, dup bool, w *entry) {
	if req.Amount <= 0 {
		return paygate.NetworkResponse{ResponseCode: rcInvalidAmt}, false, nil
	}
	k := rrnKey(req.RRN)
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.txns[k]; ok {
		if t.kind != req.Kind {
			return paygate.NetworkResponse{ResponseCode: rcDuplicate}, true, a.last
		}
		return paygate.NetworkResponse{ResponseCode: t.rc, AuthCode: t.authCode}, true, a.last
	}
	t := txn{kind: req.Kind, rc: rcApproved, authCode: authCode(), credited: req.Amount, led: led, at: req.TransmissionTime.Unix()}
	a.txns[k] = t
	return paygate.NetworkResponse{ResponseCode: t.rc, AuthCode: t.authCode}, false, a.record(k, t)
}

// snapshot copies the account.
func (a *account) snapshot() Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc := Account{
		Issuer:    a.issuer.name,
		Status:    a.status,
		Limit:     a.limit,
		Available: a.available,
		Posted:    a.posted,
		Held:      a.held,
		Holds:     map[string]int64{},
		TxnLimit:  a.txnLimit,
		ExpMonth:  a.expMonth,
		ExpYear:   a.expYear,
	}
	for k, t := range a.txns {
		if t.held > 0 {
			acc.Holds[string(k[:])] = t.held
		}
	}
	return acc
}
