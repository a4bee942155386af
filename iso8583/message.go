package iso8583

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	moov "github.com/moov-io/iso8583"
	mooverrors "github.com/moov-io/iso8583/errors"

	"github.com/paygate/paygate"
)

// Message type indicators of the requests we send.
const (
	MTIAuthorization  = "0100"
	MTIFinancial      = "0200"
	MTIAdvice         = "0220"
	MTIReversal       = "0400"
	MTIReversalAdvice = "0420"
	MTINetwork        = "0800"
)

// Processing codes (DE3). An account verification is an authorization
// (0100, ProcPurchase) of amount zero.
const (
	ProcPurchase = "000000"
	ProcRefund   = "200000"
)

// Network management information codes (DE70).
const (
	SignOn  = "001"
	SignOff = "002"
	Echo    = "301"
)

const (
	acquirerID   = "100001" // DE32: our acquiring institution
	posEntryMode = "810"    // DE22: PAN entered for e-commerce, PIN capability unknown
	cvcTag       = "92"     // DE48 subelement carrying the CVC2
	maxField     = 128
)

// fieldSet holds the string value of each field of one message, indexed by
// field number; "" means absent. It lives on the stack.
type fieldSet struct {
	mti string
	v   [maxField + 1]string
}

func (f *fieldSet) message() *moov.Message {
	m := moov.NewMessage(Spec)
	m.MTI(f.mti)
	for id := 2; id <= maxField; id++ {
		if f.v[id] != "" {
			// Every id we fill is in Spec, so Field cannot fail.
			_ = m.Field(id, f.v[id])
		}
	}
	return m
}

func (f *fieldSet) pack() ([]byte, error) {
	b, err := f.message().Pack()
	if err != nil {
		return nil, packErr(err)
	}
	return b, nil
}

// PackRequest packs a request to the acquirer. See the package documentation
// for the message each kind becomes.
func PackRequest(req paygate.NetworkRequest) ([]byte, error) {
	var f fieldSet
	if err := f.request(req); err != nil {
		return nil, err
	}
	return f.pack()
}

// request fills f from req.
func (f *fieldSet) request(req paygate.NetworkRequest) error {
	proc := ProcPurchase
	switch req.Kind {
	case paygate.NetworkAuthorize:
		f.mti = MTIAuthorization
	case paygate.NetworkVerify:
		f.mti = MTIAuthorization
		if req.Amount != 0 {
			return errors.New("iso8583: an account verification has no amount")
		}
	case paygate.NetworkSale:
		f.mti = MTIFinancial
	case paygate.NetworkRefund:
		f.mti, proc = MTIFinancial, ProcRefund
	case paygate.NetworkCapture:
		f.mti = MTIAdvice
	case paygate.NetworkReverse:
		f.mti = MTIReversal
		if req.Advice {
			f.mti = MTIReversalAdvice
		}
		switch req.OriginalKind {
		case paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkCapture:
		case paygate.NetworkRefund:
			proc = ProcRefund
		default:
			return errors.New("iso8583: reversal needs the original kind")
		}
	default:
		return fmt.Errorf("iso8583: unknown request kind %d", req.Kind)
	}
	if req.Repeat && (req.Kind == paygate.NetworkReverse || req.Kind == paygate.NetworkCapture) {
		f.mti = f.mti[:3] + "1" // 0221, 0401, 0421: sent again
	}
	if !isDigits(req.PAN) || len(req.PAN) > 19 {
		return errors.New("iso8583: card number must be 1 to 19 digits")
	}
	stan, err := padSTAN(req.STAN)
	if err != nil {
		return err
	}
	if len(req.RRN) != 12 || !isPrintable(req.RRN) {
		return errors.New("iso8583: retrieval reference number must be 12 characters")
	}
	cur, err := currencyNumeric(req.Currency)
	if err != nil {
		return err
	}
	t := req.TransmissionTime
	if t.IsZero() {
		t = time.Now()
	}

	amount, replacement := req.Amount, int64(-1)
	if req.Kind == paygate.NetworkReverse {
		// DE4 carries the original amount; DE95 the amount that stays
		// when only part is reversed.
		if orig := req.OriginalAmount; orig != 0 && req.Amount != orig {
			if req.Amount > orig {
				return errors.New("iso8583: replacement amount exceeds the original amount")
			}
			amount = orig
			if req.Amount > 0 {
				replacement = req.Amount
			}
		}
	}
	de4, err := pad(amount, 12)
	if err != nil {
		return fmt.Errorf("iso8583: amount: %w", err)
	}

	f.v[2] = req.PAN
	f.v[3] = proc
	f.v[4] = de4
	f.v[7] = t.UTC().Format("0102150405")
	f.v[11] = stan
	f.v[12] = t.Format("150405")
	f.v[13] = t.Format("0102")
	if req.ExpMonth >= 1 && req.ExpMonth <= 12 && req.ExpYear > 0 {
		f.v[14] = twoDigits(req.ExpYear%100) + twoDigits(req.ExpMonth)
	}
	if req.MCC != "" {
		if len(req.MCC) != 4 || !isDigits(req.MCC) {
			return errors.New("iso8583: merchant category code must be 4 digits")
		}
		f.v[18] = req.MCC
	}
	f.v[22] = posEntryMode
	f.v[32] = acquirerID
	f.v[37] = req.RRN
	if req.AuthCode != "" && (req.Kind == paygate.NetworkCapture || req.Kind == paygate.NetworkReverse) {
		if len(req.AuthCode) > 6 || !isPrintable(req.AuthCode) {
			return errors.New("iso8583: authorization code must be at most 6 characters")
		}
		f.v[38] = req.AuthCode
	}
	if f.v[41], err = ans(req.TerminalID, 8, "terminal id"); err != nil {
		return err
	}
	if f.v[42], err = ans(req.MerchantID, 15, "merchant id"); err != nil {
		return err
	}
	f.v[43] = merchantName(req.MerchantName)
	if req.CVC != "" && carriesCVC(req.Kind) {
		if len(req.CVC) < 3 || len(req.CVC) > 4 || !isDigits(req.CVC) {
			return errors.New("iso8583: card security code must be 3 or 4 digits")
		}
		f.v[48] = cvcTag + twoDigits(len(req.CVC)) + req.CVC
	}
	f.v[49] = cur
	if req.Kind == paygate.NetworkReverse || (req.Kind == paygate.NetworkCapture && req.OriginalSTAN != "") {
		if f.v[90], err = originalData(req); err != nil {
			return err
		}
	}
	if replacement >= 0 {
		r, _ := pad(replacement, 12) // replacement < amount, which fits
		f.v[95] = r + r + "C00000000C00000000"
	}
	return nil
}

// carriesCVC reports whether requests of kind carry the CVC2.
func carriesCVC(kind paygate.NetworkKind) bool {
	return kind == paygate.NetworkAuthorize || kind == paygate.NetworkSale || kind == paygate.NetworkVerify
}

// originalData builds DE90: original MTI, STAN, DE7, acquirer and forwarder.
func originalData(req paygate.NetworkRequest) (string, error) {
	mti := MTIAuthorization
	switch req.OriginalKind {
	case paygate.NetworkSale, paygate.NetworkRefund:
		mti = MTIFinancial
	case paygate.NetworkCapture:
		mti = MTIAdvice
	}
	stan := "000000"
	if req.OriginalSTAN != "" {
		var err error
		if stan, err = padSTAN(req.OriginalSTAN); err != nil {
			return "", errors.New("iso8583: original STAN must be 1 to 6 digits")
		}
	}
	de7 := "0000000000"
	if !req.OriginalTime.IsZero() {
		de7 = req.OriginalTime.UTC().Format("0102150405")
	}
	return mti + stan + de7 + strings.Repeat("0", 11-len(acquirerID)) + acquirerID + "00000000000", nil
}

// PackResponse packs the answer to req: the response MTI, DE3, 4, 7, 11, 37,
// 41, 42 and 49 echoed from the request, DE38 and DE39 from resp. DE2 is not
// echoed.
func PackResponse(req paygate.NetworkRequest, resp paygate.NetworkResponse) ([]byte, error) {
	var in fieldSet
	if err := in.request(req); err != nil {
		return nil, err
	}
	if len(resp.ResponseCode) != 2 || !isPrintable(resp.ResponseCode) {
		return nil, errors.New("iso8583: response code must be 2 characters")
	}
	var out fieldSet
	out.mti = ResponseMTI(in.mti)
	for _, id := range [...]int{3, 4, 7, 11, 37, 41, 42, 49} {
		out.v[id] = in.v[id]
	}
	if resp.RRN != "" {
		if len(resp.RRN) != 12 || !isPrintable(resp.RRN) {
			return nil, errors.New("iso8583: retrieval reference number must be 12 characters")
		}
		out.v[37] = resp.RRN
	}
	if resp.AuthCode != "" {
		if len(resp.AuthCode) > 6 || !isPrintable(resp.AuthCode) {
			return nil, errors.New("iso8583: authorization code must be at most 6 characters")
		}
		out.v[38] = resp.AuthCode
	}
	out.v[39] = resp.ResponseCode
	return out.pack()
}

// ResponseMTI returns the MTI that answers a request MTI: 0100 → 0110,
// 0221 (a repeat) → 0230.
func ResponseMTI(mti string) string {
	if len(mti) != 4 {
		return mti
	}
	return mti[:2] + string(mti[2]+1) + "0"
}

// UnpackRequest unpacks a request and returns it with its MTI. A full
// reversal comes back with Amount == OriginalAmount, a partial one with
// Amount set to the replacement amount (DE95).
func UnpackRequest(b []byte) (req paygate.NetworkRequest, mti string, err error) {
	m, err := unpack(b)
	if err != nil {
		return req, "", err
	}
	mti = get(m, 0)
	proc := get(m, 3)
	switch mti {
	case "0100", "0101":
		req.Kind = paygate.NetworkAuthorize
	case "0200", "0201":
		req.Kind = paygate.NetworkSale
		if strings.HasPrefix(proc, "20") {
			req.Kind = paygate.NetworkRefund
		}
	case "0220", "0221":
		req.Kind = paygate.NetworkCapture
	case "0400", "0401", "0420", "0421":
		req.Kind = paygate.NetworkReverse
		req.Advice = mti[2] == '2'
	default:
		return req, mti, fmt.Errorf("iso8583: unsupported request MTI %q", mti)
	}
	req.Repeat = mti[3] == '1'
	for _, id := range [...]int{2, 3, 4, 7, 11, 37, 49} {
		if get(m, id) == "" {
			return req, mti, fmt.Errorf("iso8583: %s without field %d", mti, id)
		}
	}
	req.PAN = get(m, 2)
	if !isDigits(req.PAN) {
		return req, mti, errors.New("iso8583: field 2 is not numeric")
	}
	if req.Amount, err = parseAmount(m, 4); err != nil {
		return req, mti, err
	}
	if req.Kind == paygate.NetworkAuthorize && req.Amount == 0 {
		req.Kind = paygate.NetworkVerify
	}
	now := time.Now()
	if req.TransmissionTime, err = parseDE7(get(m, 7), now); err != nil {
		return req, mti, err
	}
	req.STAN = get(m, 11)
	if !isDigits(req.STAN) {
		return req, mti, errors.New("iso8583: field 11 is not numeric")
	}
	if exp := get(m, 14); exp != "" {
		yy, err1 := strconv.Atoi(exp[:2])
		mm, err2 := strconv.Atoi(exp[2:])
		if err1 != nil || err2 != nil || !isDigits(exp) {
			return req, mti, errors.New("iso8583: field 14 is not numeric")
		}
		req.ExpYear, req.ExpMonth = 2000+yy, mm
	}
	req.MCC = get(m, 18)
	req.RRN = get(m, 37)
	req.AuthCode = get(m, 38)
	req.TerminalID = get(m, 41)
	req.MerchantID = get(m, 42)
	req.MerchantName = get(m, 43)
	if carriesCVC(req.Kind) {
		req.CVC = cvcFrom(get(m, 48))
	}
	num := get(m, 49)
	if !isDigits(num) {
		return req, mti, errors.New("iso8583: field 49 is not numeric")
	}
	if c, ok := paygate.LookupCurrencyNumeric(num); ok {
		req.Currency = c
	} else {
		req.Currency = paygate.Currency{Numeric: num}
	}
	if de90 := get(m, 90); de90 != "" {
		if !isDigits(de90) {
			return req, mti, errors.New("iso8583: field 90 is not numeric")
		}
		switch de90[:4] {
		case MTIAuthorization:
			req.OriginalKind = paygate.NetworkAuthorize
		case MTIFinancial:
			req.OriginalKind = paygate.NetworkSale
			if strings.HasPrefix(proc, "20") {
				req.OriginalKind = paygate.NetworkRefund
			}
		case MTIAdvice:
			req.OriginalKind = paygate.NetworkCapture
		}
		req.OriginalSTAN = de90[4:10]
		if de90[10:20] != "0000000000" {
			if req.OriginalTime, err = parseDE7(de90[10:20], now); err != nil {
				return req, mti, err
			}
		}
	}
	if req.Kind == paygate.NetworkReverse {
		req.OriginalAmount = req.Amount
		if de95 := get(m, 95); de95 != "" {
			if req.Amount, err = parseNumber(de95[:12], 95); err != nil {
				return req, mti, err
			}
		}
	}
	return req, mti, nil
}

// UnpackResponse unpacks an answer from the acquirer and returns it with its
// MTI and STAN.
func UnpackResponse(b []byte) (resp paygate.NetworkResponse, mti, stan string, err error) {
	m, err := unpack(b)
	if err != nil {
		return resp, "", "", err
	}
	mti, stan = get(m, 0), get(m, 11)
	resp.ResponseCode = get(m, 39)
	if resp.ResponseCode == "" {
		return resp, mti, stan, fmt.Errorf("iso8583: %q without field 39", mti)
	}
	resp.AuthCode = get(m, 38)
	resp.RRN = get(m, 37)
	return resp, mti, stan, nil
}

// Management is a network management message: an 0800 request or its 0810
// answer.
type Management struct {
	MTI          string    // MTINetwork or "0810"
	Code         string    // DE70: SignOn, SignOff or Echo
	STAN         string    // DE11
	Time         time.Time // DE7
	ResponseCode string    // DE39, answers only
}

// PackManagement packs a network management message.
func PackManagement(mg Management) ([]byte, error) {
	if mg.MTI != MTINetwork && mg.MTI != ResponseMTI(MTINetwork) {
		return nil, fmt.Errorf("iso8583: %q is not a network management MTI", mg.MTI)
	}
	if len(mg.Code) != 3 || !isDigits(mg.Code) {
		return nil, errors.New("iso8583: network management code must be 3 digits")
	}
	stan, err := padSTAN(mg.STAN)
	if err != nil {
		return nil, err
	}
	t := mg.Time
	if t.IsZero() {
		t = time.Now()
	}
	var f fieldSet
	f.mti = mg.MTI
	f.v[7] = t.UTC().Format("0102150405")
	f.v[11] = stan
	if mg.ResponseCode != "" {
		if len(mg.ResponseCode) != 2 || !isPrintable(mg.ResponseCode) {
			return nil, errors.New("iso8583: response code must be 2 characters")
		}
		f.v[39] = mg.ResponseCode
	}
	f.v[70] = mg.Code
	return f.pack()
}

// UnpackManagement unpacks a network management message.
func UnpackManagement(b []byte) (Management, error) {
	m, err := unpack(b)
	if err != nil {
		return Management{}, err
	}
	mg := Management{MTI: get(m, 0), Code: get(m, 70), STAN: get(m, 11), ResponseCode: get(m, 39)}
	if mg.MTI != MTINetwork && mg.MTI != ResponseMTI(MTINetwork) {
		return mg, fmt.Errorf("iso8583: %q is not a network management MTI", mg.MTI)
	}
	if de7 := get(m, 7); de7 != "" {
		if mg.Time, err = parseDE7(de7, time.Now()); err != nil {
			return mg, err
		}
	}
	return mg, nil
}

// unpack parses b with Spec. It never panics, and its errors never quote
// the content of a field that may hold card data.
func unpack(b []byte) (m *moov.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, errors.New("iso8583: malformed message")
		}
	}()
	m = moov.NewMessage(Spec)
	if err := m.Unpack(b); err != nil {
		var ue *mooverrors.UnpackError
		if errors.As(err, &ue) {
			if sensitive(ue.FieldID) {
				return nil, fmt.Errorf("iso8583: malformed field %s", ue.FieldID)
			}
			return nil, fmt.Errorf("iso8583: malformed field %s: %v", ue.FieldID, ue.Err)
		}
		return nil, errors.New("iso8583: malformed message")
	}
	return m, nil
}

func packErr(err error) error {
	// Values are checked before packing, so this is a bug; the library's
	// pack errors name fields and lengths, not values.
	return fmt.Errorf("iso8583: pack: %w", err)
}

// get returns field id, or "" when absent.
func get(m *moov.Message, id int) string {
	s, _ := m.GetString(id)
	return s
}

func parseAmount(m *moov.Message, id int) (int64, error) {
	return parseNumber(get(m, id), id)
}

func parseNumber(s string, id int) (int64, error) {
	if !isDigits(s) {
		return 0, fmt.Errorf("iso8583: field %d is not numeric", id)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("iso8583: field %d is out of range", id)
	}
	return n, nil
}

var errBadDE7 = errors.New("iso8583: malformed transmission date and time")

// parseDE7 reads MMDDhhmmss in UTC. The year is the one that puts the time
// closest to ref.
func parseDE7(s string, ref time.Time) (time.Time, error) {
	bad := errBadDE7
	if len(s) != 10 || !isDigits(s) {
		return time.Time{}, bad
	}
	n := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	mo, d, h, mi, se := n(0), n(2), n(4), n(6), n(8)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, bad
	}
	ref = ref.UTC()
	var best time.Time
	for y := ref.Year() - 1; y <= ref.Year()+1; y++ {
		t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
		if t.Day() != d { // 29 February in a common year
			continue
		}
		if best.IsZero() || absDur(t.Sub(ref)) < absDur(best.Sub(ref)) {
			best = t
		}
	}
	if best.IsZero() {
		return time.Time{}, bad
	}
	return best, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// cvcFrom finds the CVC2 subelement in DE48 (tag 2 digits, length 2 digits,
// value).
func cvcFrom(de48 string) string {
	for len(de48) >= 4 {
		tag := de48[:2]
		l, err := strconv.Atoi(de48[2:4])
		if err != nil || l < 0 || 4+l > len(de48) {
			return ""
		}
		if tag == cvcTag {
			return de48[4 : 4+l]
		}
		de48 = de48[4+l:]
	}
	return ""
}

func padSTAN(s string) (string, error) {
	if s == "" || len(s) > 6 || !isDigits(s) {
		return "", errors.New("iso8583: STAN must be 1 to 6 digits")
	}
	return strings.Repeat("0", 6-len(s)) + s, nil
}

func currencyNumeric(c paygate.Currency) (string, error) {
	num := c.Numeric
	if num == "" && c.Code != "" {
		if l, ok := paygate.LookupCurrency(c.Code); ok {
			num = l.Numeric
		}
	}
	if len(num) != 3 || !isDigits(num) {
		return "", errors.New("iso8583: currency needs a 3-digit numeric code")
	}
	return num, nil
}

// pad formats a non-negative n as exactly width digits.
func pad(n int64, width int) (string, error) {
	if n < 0 {
		return "", errors.New("negative")
	}
	s := strconv.FormatInt(n, 10)
	if len(s) > width {
		return "", fmt.Errorf("more than %d digits", width)
	}
	return strings.Repeat("0", width-len(s)) + s, nil
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}

// ans checks a fixed alphanumeric-special field; short values are padded
// with spaces by Spec.
func ans(s string, max int, name string) (string, error) {
	if len(s) > max || !isPrintable(s) {
		return "", fmt.Errorf("iso8583: %s must be at most %d printable ASCII characters", name, max)
	}
	return s, nil
}

// merchantName fits a name into DE43: printable ASCII, at most 40.
func merchantName(s string) string {
	if s == "" {
		return ""
	}
	b := make([]byte, 0, 40)
	for _, r := range s {
		if len(b) == 40 {
			break
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
