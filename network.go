package paygate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// NetworkKind says which message a NetworkRequest becomes on the wire.
type NetworkKind int

const (
	NetworkAuthorize NetworkKind = iota + 1 // 0100: place a hold
	NetworkSale                             // 0200 processing code 00: authorize and post
	NetworkCapture                          // 0220 advice: turn a hold into a posting
	NetworkReverse                          // 0400: undo an authorization or a sale
	NetworkRefund                           // 0200 processing code 20: credit the cardholder
	NetworkVerify                           // 0100 with amount 0: account verification (status, expiry, CVC); holds nothing
)

// Message type indicators (ISO 8583:1987) of the requests the gateway
// sends. They belong to the domain, not to package iso8583: every trace
// entry records the MTI of its message, and which message each kind of
// request becomes (authorization, financial request, advice, reversal) is
// the gateway's decision. Package iso8583 packs these MTIs and declares only
// what is its own, the network management messages of the link (0800).
// Repeats (0221, 0401, 0421) and answers (0110, 0210, 0230, 0410, 0430)
// derive from them: see NetworkRequest.MTI and ResponseMTI.
const (
	MTIAuthorization  = "0100" // NetworkAuthorize, NetworkVerify
	MTIFinancial      = "0200" // NetworkSale, NetworkRefund
	MTIAdvice         = "0220" // NetworkCapture
	MTIReversal       = "0400" // NetworkReverse
	MTIReversalAdvice = "0420" // NetworkReverse sent as an advice
)

// MTI is the message type of a request of this kind, first sent and not as
// an advice (NetworkRequest.MTI says which the request is).
func (k NetworkKind) MTI() string {
	switch k {
	case NetworkAuthorize, NetworkVerify:
		return MTIAuthorization
	case NetworkSale, NetworkRefund:
		return MTIFinancial
	case NetworkCapture:
		return MTIAdvice
	case NetworkReverse:
		return MTIReversal
	}
	return ""
}

// ResponseMTI returns the MTI that answers a request MTI: 0100 → 0110,
// 0221 (a repeat) → 0230. Anything but four characters is returned as it is.
func ResponseMTI(mti string) string {
	if len(mti) != 4 {
		return mti
	}
	return mti[:2] + string(mti[2]+1) + "0"
}

func (k NetworkKind) String() string {
	switch k {
	case NetworkAuthorize:
		return "authorize"
	case NetworkSale:
		return "sale"
	case NetworkCapture:
		return "capture"
	case NetworkReverse:
		return "reverse"
	case NetworkRefund:
		return "refund"
	case NetworkVerify:
		return "verify"
	}
	return "unknown"
}

// NetworkRequest is what the gateway asks of the acquirer. The CVC travels
// only in memory and only on authorizations, sales and verifications.
type NetworkRequest struct {
	Kind             NetworkKind
	PAN              string
	ExpMonth         int
	ExpYear          int
	CVC              string
	Amount           int64
	Currency         Currency
	STAN             string // DE11, 6 digits
	RRN              string // DE37, 12 characters; the reference every later message quotes
	TransmissionTime time.Time
	MerchantID       string  // DE42, 15 characters
	MerchantName     string  // DE43
	TerminalID       string  // DE41, 8 characters
	MCC              string  // DE18
	Channel          Channel // DE22 and DE25: "" is ChannelEcommerce
	// For captures and reversals: the original message.
	AuthCode       string // DE38 of the original approval
	OriginalKind   NetworkKind
	OriginalSTAN   string
	OriginalTime   time.Time
	OriginalAmount int64 // the amount of the original; Amount is the new (replacement) amount
	// Advice sends a reversal as an advice (0420) — the network must take
	// it, and the gateway stores and forwards it until it does — rather
	// than as a request (0400). Captures are always advices (0220).
	Advice bool
	// Repeat marks a message sent again because its first sending was not
	// answered (0221, 0401, 0421).
	Repeat bool
}

// MTI is the ISO 8583 (1987) message type of the request: its kind's,
// as an advice (0420) for a reversal advice, and with a last digit of 1
// (0221, 0401, 0421) for a capture or reversal sent again. It is "" for an
// unknown kind.
func (r NetworkRequest) MTI() string {
	mti := r.Kind.MTI()
	if r.Kind == NetworkReverse && r.Advice {
		mti = MTIReversalAdvice
	}
	if r.Repeat && (r.Kind == NetworkReverse || r.Kind == NetworkCapture) {
		mti = mti[:3] + "1"
	}
	return mti
}

// maskedRequest is NetworkRequest without its methods, for printing.
type maskedRequest NetworkRequest

func (r NetworkRequest) masked() maskedRequest {
	m := maskedRequest(r)
	m.PAN = MaskPAN(r.PAN)
	if m.CVC != "" {
		m.CVC = "***"
	}
	return m
}

// Format prints the request with the card number masked and the CVC hidden,
// for every fmt verb.
func (r NetworkRequest) Format(f fmt.State, verb rune) {
	format := "%v"
	switch {
	case f.Flag('+'):
		format = "%+v"
	case f.Flag('#'):
		format = "%#v"
	}
	fmt.Fprintf(f, format, r.masked())
}

// LogValue keeps slog from printing the card number or the CVC.
func (r NetworkRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", r.Kind.String()), slog.String("pan", MaskPAN(r.PAN)),
		slog.String("stan", r.STAN), slog.String("rrn", r.RRN), slog.Int64("amount", r.Amount))
}

// SequenceStore hands out blocks of numbers that are never handed out
// twice, whatever restarts or how many gateway nodes: the source of RRNs and
// STANs.
type SequenceStore interface {
	// Reserve returns the first of n consecutive numbers of the named
	// sequence, reserved durably for the caller. Sequences start at 1.
	Reserve(ctx context.Context, name string, n int64) (first int64, err error)
}

// NetworkResponse is the acquirer's answer.
type NetworkResponse struct {
	ResponseCode string // DE39
	AuthCode     string // DE38 on approval
	RRN          string // DE37 as the network echoed it
}

// Approved reports whether the response code means approval.
func (r NetworkResponse) Approved() bool { return r.ResponseCode == ResponseApproved }

// ErrNetworkTimeout is returned by an Acquirer when the answer did not arrive
// in time: the outcome is unknown and the request must be reversed.
var ErrNetworkTimeout = errors.New("network timeout")

// ErrNotSent is returned (wrapped) by an Acquirer when the request surely
// never left: no link to the acquirer was up. Nothing needs reversing.
var ErrNotSent = errors.New("not sent: no link to the acquirer")

// Acquirer carries a request to the acquiring bank and returns its answer. An
// implementation returns ErrNetworkTimeout (wrapped) when no answer came.
type Acquirer interface {
	Send(ctx context.Context, req NetworkRequest) (NetworkResponse, error)
}

// ISO 8583 response codes (DE39) the gateway knows. The gateway gives
// ResponseIssuerUnavailable itself when a request got no answer (it is then
// reversed) or never left.
const (
	ResponseApproved                 = "00"
	ResponseCallIssuer               = "01"
	ResponseInvalidMerchant          = "03"
	ResponsePickUpCard               = "04"
	ResponseDoNotHonor               = "05"
	ResponseInvalidTransaction       = "12"
	ResponseInvalidAmount            = "13"
	ResponseInvalidCardNumber        = "14"
	ResponseNoSuchIssuer             = "15"
	ResponseFormatError              = "30"
	ResponseLostCard                 = "41"
	ResponseStolenCard               = "43"
	ResponseInsufficientFunds        = "51"
	ResponseExpiredCard              = "54"
	ResponseIncorrectPIN             = "55"
	ResponseNotPermittedToCardholder = "57"
	ResponseNotPermittedOnTerminal   = "58"
	ResponseSuspectedFraud           = "59"
	ResponseExceedsAmountLimit       = "61"
	ResponseRestrictedCard           = "62"
	ResponseExceedsCountLimit        = "65"
	ResponseIssuerUnavailable        = "91"
	ResponseUnableToRoute            = "92"
	ResponseDuplicateTransmission    = "94"
	ResponseSystemMalfunction        = "96"
	ResponseIncorrectCVC             = "N7"
)

// Decline is one ISO 8583 response code with what we tell merchants.
type Decline struct {
	ResponseCode string // DE39
	Code         string // decline_code on the wire; append-only
	Reason       string // a plain sentence
}

// declines is the table of response codes we map. Append-only.
var declines = map[string]Decline{}

func init() {
	for _, d := range []Decline{
		{ResponseCallIssuer, "call_issuer", "The issuer asks to be called."},
		{ResponseInvalidMerchant, "invalid_merchant", "The merchant is not accepted by the acquirer."},
		{ResponsePickUpCard, "pickup_card", "The issuer asks to retain the card."},
		{ResponseDoNotHonor, "do_not_honor", "The issuer declined the payment (do not honor)."},
		{ResponseInvalidTransaction, "invalid_transaction", "The issuer does not allow this transaction."},
		{ResponseInvalidAmount, "invalid_amount", "The issuer rejected the amount."},
		{ResponseInvalidCardNumber, "invalid_number", "The card number is not known to the issuer."},
		{ResponseNoSuchIssuer, "no_such_issuer", "No issuer is known for this card."},
		{ResponseFormatError, "format_error", "The network rejected the message format."},
		{ResponseLostCard, "lost_card", "The card has been reported lost."},
		{ResponseStolenCard, "stolen_card", "The card has been reported stolen."},
		{ResponseInsufficientFunds, "insufficient_funds", "The card has insufficient funds."},
		{ResponseExpiredCard, "expired_card", "The issuer reports the card as expired."},
		{ResponseIncorrectPIN, "incorrect_pin", "The PIN is incorrect."},
		{ResponseNotPermittedToCardholder, "transaction_not_allowed", "The cardholder's account does not permit this transaction."},
		{ResponseNotPermittedOnTerminal, "not_permitted_on_terminal", "The transaction is not permitted on this terminal."},
		{ResponseSuspectedFraud, "suspected_fraud", "The issuer suspects fraud."},
		{ResponseExceedsAmountLimit, "exceeds_amount_limit", "The amount exceeds the card's limit."},
		{ResponseRestrictedCard, "restricted_card", "The card is restricted."},
		{ResponseExceedsCountLimit, "exceeds_count_limit", "The card has exceeded its transaction count limit."},
		{ResponseIssuerUnavailable, "issuer_unavailable", "The issuer is unavailable. Try again later."},
		{ResponseUnableToRoute, "unable_to_route", "The network could not route the payment."},
		{ResponseDuplicateTransmission, "duplicate_transmission", "The network saw this transaction twice."},
		{ResponseSystemMalfunction, "processing_error", "A processing error occurred in the network. Try again."},
		{ResponseIncorrectCVC, "incorrect_cvc", "The card security code is incorrect."},
	} {
		declines[d.ResponseCode] = d
	}
}

// LookupDecline maps a response code to its decline; unknown codes become a
// generic decline that still carries the code.
func LookupDecline(responseCode string) Decline {
	if d, ok := declines[responseCode]; ok {
		return d
	}
	return Decline{ResponseCode: responseCode, Code: "generic_decline", Reason: "The issuer declined the payment."}
}

// DeclineError is the merchant-readable error of a declined response.
func DeclineError(responseCode string) *Error {
	d := LookupDecline(responseCode)
	return &Error{Code: EDECLINED, Message: d.Reason, DeclineCode: d.Code, ResponseCode: d.ResponseCode}
}
