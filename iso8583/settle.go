package iso8583

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// Processing codes (DE3) of settlement. A batch upload (0320) carries the
// item's own: ProcPurchase for a debit, ProcRefund for a credit.
const (
	ProcReconcile = "920000" // 0500: reconciliation of a batch's totals
)

// Subelements of DE48 in settlement messages: tag (2 digits), length (2
// digits), value. None carries card data.
const (
	tagBatch    = "01" // batch number, digits
	tagPricing  = "02" // the merchant's pricing code (paygate.Pricing.Code)
	tagClosedAt = "03" // the batch's close, YYYYMMDDhhmmss UTC
	tagFunded   = "04" // 0510 in balance: what is funded, C/D and digits
	tagLast     = "05" // 0320: "1" on the batch's last item
)

// differenceLen is the length of one difference in DE63: kind (1), RRN
// (12), the gateway's amount (12), the acquirer's amount (12).
const differenceLen = 1 + 12 + 12 + 12

// countLen is the length of DE63's leading count of all differences.
const countLen = 6

// Kind letters of a difference in DE63.
var differenceKinds = map[string]byte{
	"missing_at_acquirer": 'A',
	"missing_at_gateway":  'G',
	"amount_differs":      'D',
}

// PackReconcile packs a reconciliation request (0500).
func PackReconcile(r paygate.ReconcileRequest) ([]byte, error) {
	var f fieldSet
	if err := f.reconcile(r); err != nil {
		return nil, err
	}
	return f.pack()
}

func (f *fieldSet) reconcile(r paygate.ReconcileRequest) error {
	f.mti = paygate.MTIReconciliation
	if err := f.header(r.STAN, r.TransmissionTime, r.TerminalID, r.MerchantID, r.Currency); err != nil {
		return err
	}
	f.v[3] = ProcReconcile
	if err := f.totals(r.Totals); err != nil {
		return err
	}
	if r.BatchNumber < 0 {
		return errors.New("iso8583: negative batch number")
	}
	de48 := tlv(tagBatch, strconv.FormatInt(r.BatchNumber, 10))
	if r.Pricing != "" {
		if len(r.Pricing) > 99 || !isPrintable(r.Pricing) {
			return errors.New("iso8583: pricing code must be at most 99 printable ASCII characters")
		}
		de48 += tlv(tagPricing, r.Pricing)
	}
	if !r.ClosedAt.IsZero() {
		de48 += tlv(tagClosedAt, r.ClosedAt.UTC().Format("20060102150405"))
	}
	f.v[48] = de48
	return nil
}

// header fills DE7, DE11, DE41, DE42 and DE49, which every settlement
// message carries.
func (f *fieldSet) header(stan string, t time.Time, terminal, merchant string, c paygate.Currency) error {
	var err error
	if f.v[11], err = padSTAN(stan); err != nil {
		return err
	}
	if t.IsZero() {
		t = time.Now()
	}
	f.v[7] = t.UTC().Format("0102150405")
	if f.v[41], err = ans(terminal, 41, "terminal id"); err != nil {
		return err
	}
	if f.v[42], err = ans(merchant, 42, "merchant id"); err != nil {
		return err
	}
	if merchant == "" {
		return errors.New("iso8583: settlement needs a merchant id")
	}
	f.v[49], err = currencyNumeric(c)
	return err
}

// totals fills DE74-77, 86-89 and 97.
func (f *fieldSet) totals(t paygate.Totals) error {
	for _, x := range [...]struct {
		id int
		n  int64
	}{
		{74, t.CreditsCount}, {75, t.CreditReversalsCount}, {76, t.DebitsCount}, {77, t.DebitReversalsCount},
		{86, t.CreditsAmount}, {87, t.CreditReversalsAmount}, {88, t.DebitsAmount}, {89, t.DebitReversalsAmount},
	} {
		v, err := pad(x.n, fieldLength(x.id))
		if err != nil {
			return fmt.Errorf("iso8583: field %d: %w", x.id, err)
		}
		f.v[x.id] = v
	}
	net, err := signed(t.Net(), fieldLength(97)-1)
	if err != nil {
		return fmt.Errorf("iso8583: net amount: %w", err)
	}
	f.v[97] = net
	return nil
}

// signed formats n as C (not negative) or D and width digits.
func signed(n int64, width int) (string, error) {
	sign := "C"
	if n < 0 {
		sign, n = "D", -n
	}
	v, err := pad(n, width)
	return sign + v, err
}

func parseSigned(s string, id int) (int64, error) {
	if len(s) < 2 || (s[0] != 'C' && s[0] != 'D') {
		return 0, fmt.Errorf("iso8583: field %d: want C or D and digits", id)
	}
	n, err := parseNumber(s[1:], id)
	if s[0] == 'D' {
		n = -n
	}
	return n, err
}

func tlv(tag, v string) string { return tag + twoDigits(len(v)) + v }

// subelements reads DE48 as tag, length, value; a malformed one is an
// error.
func subelements(de48 string) (map[string]string, error) {
	m := map[string]string{}
	for len(de48) > 0 {
		if len(de48) < 4 || !isDigits(de48[:4]) {
			return nil, errors.New("iso8583: field 48 is malformed")
		}
		l := int(de48[2]-'0')*10 + int(de48[3]-'0')
		if 4+l > len(de48) {
			return nil, errors.New("iso8583: field 48 is malformed")
		}
		m[de48[:2]] = de48[4 : 4+l]
		de48 = de48[4+l:]
	}
	return m, nil
}

// settlementHeader reads what every settlement message carries: MTI, DE7,
// DE11, DE41, DE42, DE49, DE48's subelements.
type settlementHeader struct {
	mti, stan, terminal, merchant string
	time                          time.Time
	currency                      paygate.Currency
	sub                           map[string]string
	batch                         int64
}

// readHeader unpacks b into f, checks the MTI against wantMTI and the
// fields every settlement message carries, and reads them; the caller reads
// the others from f.
func readHeader(b []byte, wantMTI string, f *fieldSet) (h *settlementHeader, err error) {
	if err := f.unpack(b); err != nil {
		return nil, err
	}
	h = &settlementHeader{mti: f.mti}
	if len(h.mti) != 4 || h.mti[:3] != wantMTI[:3] || (h.mti[3] != '0' && h.mti[3] != '1') {
		return nil, fmt.Errorf("iso8583: %q is not a %s", h.mti, wantMTI)
	}
	if f.v[2] != "" {
		return nil, fmt.Errorf("iso8583: %s with a card number", h.mti)
	}
	for _, id := range [...]int{3, 7, 11, 42, 49} {
		if f.v[id] == "" {
			return nil, fmt.Errorf("iso8583: %s without field %d", h.mti, id)
		}
	}
	if h.time, err = parseDE7(f.v[7], time.Now()); err != nil {
		return nil, err
	}
	h.stan = f.v[11]
	if !isDigits(h.stan) {
		return nil, errors.New("iso8583: field 11 is not numeric")
	}
	h.terminal, h.merchant = f.v[41], f.v[42]
	num := f.v[49]
	if !isDigits(num) {
		return nil, errors.New("iso8583: field 49 is not numeric")
	}
	if c, ok := paygate.LookupCurrencyNumeric(num); ok {
		h.currency = c
	} else {
		h.currency = paygate.Currency{Numeric: num}
	}
	if h.sub, err = subelements(f.v[48]); err != nil {
		return nil, err
	}
	if v, ok := h.sub[tagBatch]; ok {
		if h.batch, err = parseNumber(v, 48); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// readTotals reads DE74-77, 86-89 and checks DE97 against them.
func readTotals(f *fieldSet) (t paygate.Totals, err error) {
	for _, x := range [...]struct {
		id int
		p  *int64
	}{
		{74, &t.CreditsCount}, {75, &t.CreditReversalsCount}, {76, &t.DebitsCount}, {77, &t.DebitReversalsCount},
		{86, &t.CreditsAmount}, {87, &t.CreditReversalsAmount}, {88, &t.DebitsAmount}, {89, &t.DebitReversalsAmount},
	} {
		if f.v[x.id] == "" {
			return t, fmt.Errorf("iso8583: totals without field %d", x.id)
		}
		if *x.p, err = parseNumber(f.v[x.id], x.id); err != nil {
			return t, err
		}
	}
	net, err := parseSigned(f.v[97], 97)
	if err != nil {
		return t, err
	}
	if net != t.Net() {
		return t, errors.New("iso8583: field 97 does not match the totals")
	}
	return t, nil
}

// UnpackReconcile unpacks a reconciliation request (0500).
func UnpackReconcile(b []byte) (paygate.ReconcileRequest, error) {
	var r paygate.ReconcileRequest
	var f fieldSet
	h, err := readHeader(b, paygate.MTIReconciliation, &f)
	if err != nil {
		return r, err
	}
	if p := f.v[3]; p[:2] != ProcReconcile[:2] && p[:2] != "96" {
		return r, errors.New("iso8583: 0500 with a processing code other than reconciliation")
	}
	if r.Totals, err = readTotals(&f); err != nil {
		return r, err
	}
	r.MerchantID, r.TerminalID, r.Currency, r.STAN, r.TransmissionTime = h.merchant, h.terminal, h.currency, h.stan, h.time
	r.BatchNumber, r.Pricing = h.batch, h.sub[tagPricing]
	if v := h.sub[tagClosedAt]; v != "" {
		if r.ClosedAt, err = time.Parse("20060102150405", v); err != nil || !isDigits(v) {
			return r, errors.New("iso8583: field 48: malformed close time")
		}
	}
	return r, nil
}

// PackReconcileResponse packs the answer (0510) to a reconciliation: DE3,
// 7, 11, 41, 42, 48's batch number and 49 echoed; DE39; the acquirer's
// totals; in balance, the fees in DE84 and the funded amount in DE48; the
// differences in DE63.
func PackReconcileResponse(req paygate.ReconcileRequest, resp paygate.ReconcileResponse) ([]byte, error) {
	var out fieldSet
	if err := out.reconcileResponse(req, resp); err != nil {
		return nil, err
	}
	return out.pack()
}

// reconcileResponse fills f with the answer to req.
func (f *fieldSet) reconcileResponse(req paygate.ReconcileRequest, resp paygate.ReconcileResponse) error {
	var in fieldSet
	if err := in.reconcile(req); err != nil {
		return err
	}
	if err := checkResponseCode(resp.ResponseCode); err != nil {
		return err
	}
	f.mti = paygate.ResponseMTI(in.mti)
	for _, id := range [...]int{3, 7, 11, 41, 42, 49} {
		f.v[id] = in.v[id]
	}
	f.v[39] = resp.ResponseCode
	if err := f.totals(resp.Totals); err != nil {
		return err
	}
	de48 := tlv(tagBatch, strconv.FormatInt(req.BatchNumber, 10))
	if resp.Funded != 0 || resp.Fees != 0 {
		funded, err := signed(resp.Funded, 16)
		if err != nil {
			return fmt.Errorf("iso8583: funded amount: %w", err)
		}
		de48 += tlv(tagFunded, funded)
		if f.v[84], err = pad(resp.Fees, fieldLength(84)); err != nil {
			return fmt.Errorf("iso8583: fees: %w", err)
		}
	}
	f.v[48] = de48
	if len(resp.Differences) > 0 || resp.DifferenceCount > 0 {
		de63, err := packDifferences(resp)
		if err != nil {
			return err
		}
		f.v[63] = de63
	}
	return nil
}

// packDifferences writes DE63: the count of all differences (6 digits),
// then up to paygate.MaxReconcileDifferences of them.
func packDifferences(resp paygate.ReconcileResponse) (string, error) {
	list := resp.Differences
	if len(list) > paygate.MaxReconcileDifferences {
		list = list[:paygate.MaxReconcileDifferences]
	}
	count := max(resp.DifferenceCount, len(resp.Differences))
	c, err := pad(int64(count), countLen)
	if err != nil {
		return "", fmt.Errorf("iso8583: difference count: %w", err)
	}
	var sb strings.Builder
	sb.WriteString(c)
	for _, d := range list {
		k, ok := differenceKinds[d.Kind]
		if !ok {
			return "", fmt.Errorf("iso8583: unknown difference kind %q", d.Kind)
		}
		if len(d.RRN) != fieldLength(37) || !isPrintable(d.RRN) {
			return "", errRRN
		}
		a, err1 := pad(d.Amount, 12)
		b, err2 := pad(d.AcquirerAmount, 12)
		if err1 != nil || err2 != nil {
			return "", errors.New("iso8583: difference amount out of range")
		}
		sb.WriteByte(k)
		sb.WriteString(d.RRN)
		sb.WriteString(a)
		sb.WriteString(b)
	}
	return sb.String(), nil
}

func unpackDifferences(de63 string) ([]paygate.BatchDifference, int, error) {
	bad := errors.New("iso8583: field 63 is malformed")
	if len(de63) < countLen || !isDigits(de63[:countLen]) || (len(de63)-countLen)%differenceLen != 0 {
		return nil, 0, bad
	}
	count, _ := strconv.Atoi(de63[:countLen])
	var list []paygate.BatchDifference
	for s := de63[countLen:]; len(s) > 0; s = s[differenceLen:] {
		d := paygate.BatchDifference{RRN: s[1:13]}
		for name, k := range differenceKinds {
			if s[0] == k {
				d.Kind = name
			}
		}
		var err1, err2 error
		d.Amount, err1 = parseNumber(s[13:25], 63)
		d.AcquirerAmount, err2 = parseNumber(s[25:37], 63)
		if d.Kind == "" || err1 != nil || err2 != nil {
			return nil, 0, bad
		}
		list = append(list, d)
	}
	if count < len(list) {
		return nil, 0, bad
	}
	return list, count, nil
}

// UnpackReconcileResponse unpacks a 0510 and returns it with its MTI and
// STAN.
func UnpackReconcileResponse(b []byte) (resp paygate.ReconcileResponse, mti, stan string, err error) {
	var f fieldSet
	h, err := readHeader(b, paygate.ResponseMTI(paygate.MTIReconciliation), &f)
	if err != nil {
		return resp, "", "", err
	}
	mti, stan = h.mti, h.stan
	if resp.ResponseCode = f.v[39]; resp.ResponseCode == "" {
		return resp, mti, stan, fmt.Errorf("iso8583: %q without field 39", mti)
	}
	if resp.Totals, err = readTotals(&f); err != nil {
		return resp, mti, stan, err
	}
	if v := h.sub[tagFunded]; v != "" {
		if resp.Funded, err = parseSigned(v, 48); err != nil {
			return resp, mti, stan, err
		}
	}
	if v := f.v[84]; v != "" {
		if resp.Fees, err = parseNumber(v, 84); err != nil {
			return resp, mti, stan, err
		}
	}
	if v := f.v[63]; v != "" {
		if resp.Differences, resp.DifferenceCount, err = unpackDifferences(v); err != nil {
			return resp, mti, stan, err
		}
	}
	return resp, mti, stan, nil
}

var _ paygate.Settler = (*Client)(nil)

// Reconcile sends a 0500 and returns the 0510. Errors are those of Send:
// paygate.ErrNetworkTimeout when no answer came (the 0500 may be sent
// again: the acquirer answers a batch it has funded with the same 0510),
// paygate.ErrNotSent when no link was up.
func (c *Client) Reconcile(ctx context.Context, r paygate.ReconcileRequest) (paygate.ReconcileResponse, error) {
	var f fieldSet
	if err := f.reconcile(r); err != nil {
		return paygate.ReconcileResponse{}, err
	}
	raw, err := c.roundTrip(ctx, &f, "reconcile")
	if err != nil {
		return paygate.ReconcileResponse{}, err
	}
	resp, mti, stan, err := UnpackReconcileResponse(raw)
	if err != nil {
		return resp, fmt.Errorf("iso8583: answer to %s stan %s: %w", f.mti, f.v[11], err)
	}
	if want := paygate.ResponseMTI(f.mti); mti != want || stan != f.v[11] {
		return paygate.ReconcileResponse{}, fmt.Errorf("iso8583: answer %q stan %q does not match %s stan %s", mti, stan, f.mti, f.v[11])
	}
	return resp, nil
}

// Upload sends a 0320 and returns the response code of the 0330.
func (c *Client) Upload(ctx context.Context, r paygate.UploadRequest) (string, error) {
	var f fieldSet
	if err := f.upload(r); err != nil {
		return "", err
	}
	raw, err := c.roundTrip(ctx, &f, "upload")
	if err != nil {
		return "", err
	}
	rc, mti, stan, err := UnpackUploadResponse(raw)
	if err != nil {
		return "", fmt.Errorf("iso8583: answer to %s stan %s: %w", f.mti, f.v[11], err)
	}
	if want := paygate.ResponseMTI(f.mti); mti != want || stan != f.v[11] {
		return "", fmt.Errorf("iso8583: answer %q stan %q does not match %s stan %s", mti, stan, f.mti, f.v[11])
	}
	return rc, nil
}
