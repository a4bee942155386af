package iso8583

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// MTINetwork is the message type of network management (sign-on, echo,
// sign-off), answered with ResponseMTI(MTINetwork). The MTIs of payment
// messages are the domain's (paygate.MTIAuthorization and the others, and
// paygate.NetworkRequest.MTI): the gateway records them in every trace, so
// they are defined there once and this package packs them. Network
// management belongs to the link alone.
const MTINetwork = "0800"

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
	posEntryMOTO = "012"    // DE22: PAN keyed in by hand, no PIN entry capability
	posCondition = "59"     // DE25: e-commerce
	posCondMOTO  = "08"     // DE25: mail/telephone order
	cvcTag       = "92"     // DE48 subelement carrying the CVC2
	maxField     = 128
)

// fieldSet holds the string value of each field of one message, indexed by
// field number; "" means absent (v[0] and v[1], the MTI's and the bitmap's
// places, are unused). It lives on the stack. pack.go packs and unpacks it.
type fieldSet struct {
	mti string
	v   [maxField + 1]string
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
	case paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkCapture:
	case paygate.NetworkVerify:
		if req.Amount != 0 {
			return errors.New("iso8583: an account verification has no amount")
		}
	case paygate.NetworkRefund:
		proc = ProcRefund
	case paygate.NetworkReverse:
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
	f.mti = req.MTI()
	if !isDigits(req.PAN) || len(req.PAN) > fieldLength(2) {
		return fmt.Errorf("iso8583: card number must be 1 to %d digits", fieldLength(2))
	}
	stan, err := padSTAN(req.STAN)
	if err != nil {
		return err
	}
	if len(req.RRN) != fieldLength(37) || !isPrintable(req.RRN) {
		return errRRN
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
	de4, err := pad(amount, fieldLength(4))
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
		if len(req.MCC) != fieldLength(18) || !isDigits(req.MCC) {
			return fmt.Errorf("iso8583: merchant category code must be %d digits", fieldLength(18))
		}
		f.v[18] = req.MCC
	}
	f.v[22], f.v[25] = posEntryMode, posCondition
	if req.Channel == paygate.ChannelMOTO {
		f.v[22], f.v[25] = posEntryMOTO, posCondMOTO
	}
	f.v[32] = acquirerID
	f.v[37] = req.RRN
	if req.AuthCode != "" && (req.Kind == paygate.NetworkCapture || req.Kind == paygate.NetworkReverse) {
		if err := checkAuthCode(req.AuthCode); err != nil {
			return err
		}
		f.v[38] = req.AuthCode
	}
	if f.v[41], err = ans(req.TerminalID, 41, "terminal id"); err != nil {
		return err
	}
	if f.v[42], err = ans(req.MerchantID, 42, "merchant id"); err != nil {
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
		r, _ := pad(replacement, fieldLength(4)) // replacement < amount, which fits
		f.v[95] = r + r + "C00000000C00000000"
	}
	return nil
}

// carriesCVC reports whether requests of kind carry the CVC2.
func carriesCVC(kind paygate.NetworkKind) bool {
	return kind == paygate.NetworkAuthorize || kind == paygate.NetworkSale || kind == paygate.NetworkVerify
}

// originalData builds DE90: original MTI, STAN, DE7, acquirer and forwarder
// (each institution id zero-padded to the longest DE32 value; we name no
// forwarder).
func originalData(req paygate.NetworkRequest) (string, error) {
	mti := paygate.MTIAuthorization
	switch req.OriginalKind {
	case paygate.NetworkSale, paygate.NetworkRefund, paygate.NetworkCapture:
		mti = req.OriginalKind.MTI()
	}
	stan := strings.Repeat("0", fieldLength(11))
	if req.OriginalSTAN != "" {
		var err error
		if stan, err = padSTAN(req.OriginalSTAN); err != nil {
			return "", fmt.Errorf("iso8583: original STAN must be 1 to %d digits", fieldLength(11))
		}
	}
	de7 := strings.Repeat("0", fieldLength(7))
	if !req.OriginalTime.IsZero() {
		de7 = req.OriginalTime.UTC().Format("0102150405")
	}
	inst := fieldLength(32)
	return mti + stan + de7 + strings.Repeat("0", inst-len(acquirerID)) + acquirerID + strings.Repeat("0", inst), nil
}

// PackResponse packs the answer to req: the response MTI, DE3, 4, 7, 11, 37,
// 41, 42 and 49 echoed from the request, DE38 and DE39 from resp. DE2 is not
// echoed.
func PackResponse(req paygate.NetworkRequest, resp paygate.NetworkResponse) ([]byte, error) {
	var out fieldSet
	if err := out.response(req, resp); err != nil {
		return nil, err
	}
	return out.pack()
}

// response fills f with the answer to req.
func (f *fieldSet) response(req paygate.NetworkRequest, resp paygate.NetworkResponse) error {
	var in fieldSet
	if err := in.request(req); err != nil {
		return err
	}
	if err := checkResponseCode(resp.ResponseCode); err != nil {
		return err
	}
	f.mti = paygate.ResponseMTI(in.mti)
	for _, id := range [...]int{3, 4, 7, 11, 37, 41, 42, 49} {
		f.v[id] = in.v[id]
	}
	if resp.RRN != "" {
		if len(resp.RRN) != fieldLength(37) || !isPrintable(resp.RRN) {
			return errRRN
		}
		f.v[37] = resp.RRN
	}
	if resp.AuthCode != "" {
		if err := checkAuthCode(resp.AuthCode); err != nil {
			return err
		}
		f.v[38] = resp.AuthCode
	}
	f.v[39] = resp.ResponseCode
	return nil
}

// UnpackRequest unpacks a request and returns it with its MTI. A full
// reversal comes back with Amount == OriginalAmount, a partial one with
// Amount set to the replacement amount (DE95).
func UnpackRequest(b []byte) (req paygate.NetworkRequest, mti string, err error) {
	var f fieldSet
	if err := f.unpack(b); err != nil {
		return req, "", err
	}
	return f.networkRequest()
}

// networkRequest reads the request f holds and returns it with its MTI.
func (f *fieldSet) networkRequest() (req paygate.NetworkRequest, mti string, err error) {
	mti = f.mti
	proc := f.v[3]
	// The last digit says whether the message is sent again (1) or first
	// (0); the first three, which message it is.
	first := ""
	if len(mti) == 4 && (mti[3] == '0' || mti[3] == '1') {
		first = mti[:3] + "0"
	}
	switch first {
	case paygate.MTIAuthorization:
		req.Kind = paygate.NetworkAuthorize
	case paygate.MTIFinancial:
		req.Kind = paygate.NetworkSale
		if strings.HasPrefix(proc, ProcRefund[:2]) {
			req.Kind = paygate.NetworkRefund
		}
	case paygate.MTIAdvice:
		req.Kind = paygate.NetworkCapture
	case paygate.MTIReversal, paygate.MTIReversalAdvice:
		req.Kind = paygate.NetworkReverse
		req.Advice = first == paygate.MTIReversalAdvice
	default:
		return req, mti, fmt.Errorf("iso8583: unsupported request MTI %q", mti)
	}
	req.Repeat = mti[3] == '1'
	for _, id := range [...]int{2, 3, 4, 7, 11, 37, 49} {
		if f.v[id] == "" {
			return req, mti, fmt.Errorf("iso8583: %s without field %d", mti, id)
		}
	}
	req.PAN = f.v[2]
	if !isDigits(req.PAN) {
		return req, mti, errors.New("iso8583: field 2 is not numeric")
	}
	if req.Amount, err = parseNumber(f.v[4], 4); err != nil {
		return req, mti, err
	}
	if req.Kind == paygate.NetworkAuthorize && req.Amount == 0 {
		req.Kind = paygate.NetworkVerify
	}
	now := time.Now()
	if req.TransmissionTime, err = parseDE7(f.v[7], now); err != nil {
		return req, mti, err
	}
	req.STAN = f.v[11]
	if !isDigits(req.STAN) {
		return req, mti, errors.New("iso8583: field 11 is not numeric")
	}
	if exp := f.v[14]; exp != "" {
		yy, err1 := strconv.Atoi(exp[:2])
		mm, err2 := strconv.Atoi(exp[2:])
		if err1 != nil || err2 != nil || !isDigits(exp) {
			return req, mti, errors.New("iso8583: field 14 is not numeric")
		}
		req.ExpYear, req.ExpMonth = 2000+yy, mm
	}
	req.MCC = f.v[18]
	req.Channel = paygate.ChannelEcommerce
	if f.v[25] == posCondMOTO || strings.HasPrefix(f.v[22], "01") {
		req.Channel = paygate.ChannelMOTO
	}
	req.RRN = f.v[37]
	req.AuthCode = f.v[38]
	req.TerminalID = f.v[41]
	req.MerchantID = f.v[42]
	req.MerchantName = f.v[43]
	if carriesCVC(req.Kind) {
		req.CVC = cvcFrom(f.v[48])
	}
	num := f.v[49]
	if !isDigits(num) {
		return req, mti, errors.New("iso8583: field 49 is not numeric")
	}
	if c, ok := paygate.LookupCurrencyNumeric(num); ok {
		req.Currency = c
	} else {
		req.Currency = paygate.Currency{Numeric: num}
	}
	if de90 := f.v[90]; de90 != "" {
		if !isDigits(de90) {
			return req, mti, errors.New("iso8583: field 90 is not numeric")
		}
		// DE90: the original's MTI, STAN and DE7, then the acquirer's and
		// the forwarder's ids.
		mtiEnd := fieldLength(0)
		stanEnd := mtiEnd + fieldLength(11)
		de7End := stanEnd + fieldLength(7)
		switch de90[:mtiEnd] {
		case paygate.MTIAuthorization:
			req.OriginalKind = paygate.NetworkAuthorize
		case paygate.MTIFinancial:
			req.OriginalKind = paygate.NetworkSale
			if strings.HasPrefix(proc, ProcRefund[:2]) {
				req.OriginalKind = paygate.NetworkRefund
			}
		case paygate.MTIAdvice:
			req.OriginalKind = paygate.NetworkCapture
		}
		req.OriginalSTAN = de90[mtiEnd:stanEnd]
		if de7 := de90[stanEnd:de7End]; strings.Trim(de7, "0") != "" {
			if req.OriginalTime, err = parseDE7(de7, now); err != nil {
				return req, mti, err
			}
		}
	}
	if req.Kind == paygate.NetworkReverse {
		req.OriginalAmount = req.Amount
		if de95 := f.v[95]; de95 != "" {
			if req.Amount, err = parseNumber(de95[:fieldLength(4)], 95); err != nil {
				return req, mti, err
			}
		}
	}
	return req, mti, nil
}

// UnpackResponse unpacks an answer from the acquirer and returns it with its
// MTI and STAN.
func UnpackResponse(b []byte) (resp paygate.NetworkResponse, mti, stan string, err error) {
	var f fieldSet
	if err := f.unpack(b); err != nil {
		return resp, "", "", err
	}
	return f.networkResponse()
}

// networkResponse reads the answer f holds and returns it with its MTI
// and STAN.
func (f *fieldSet) networkResponse() (resp paygate.NetworkResponse, mti, stan string, err error) {
	mti, stan = f.mti, f.v[11]
	resp.ResponseCode = f.v[39]
	if resp.ResponseCode == "" {
		return resp, mti, stan, fmt.Errorf("iso8583: %q without field 39", mti)
	}
	resp.AuthCode = f.v[38]
	resp.RRN = f.v[37]
	return resp, mti, stan, nil
}
