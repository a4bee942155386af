package iso8583

// Batch upload (0320) and its answer (0330): a batch's items, one message
// each.

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/paygate/paygate"
)

// PackUpload packs a batch upload (0320) of one item.
func PackUpload(r paygate.UploadRequest) ([]byte, error) {
	var f fieldSet
	if err := f.upload(r); err != nil {
		return nil, err
	}
	return f.pack()
}

func (f *fieldSet) upload(r paygate.UploadRequest) error {
	f.mti = paygate.MTIBatchUpload
	it := r.Item
	if err := f.header(r.STAN, r.TransmissionTime, r.TerminalID, r.MerchantID, it.Currency); err != nil {
		return err
	}
	switch it.Kind {
	case "debit":
		f.v[3] = ProcPurchase
	case "credit":
		f.v[3] = ProcRefund
	default:
		return fmt.Errorf("iso8583: batch item kind %q: want debit or credit", it.Kind)
	}
	var err error
	if f.v[4], err = pad(it.Amount, fieldLength(4)); err != nil {
		return fmt.Errorf("iso8583: amount: %w", err)
	}
	if len(it.RRN) != fieldLength(37) || !isPrintable(it.RRN) {
		return errRRN
	}
	f.v[37] = it.RRN
	if it.AuthCode != "" {
		if err := checkAuthCode(it.AuthCode); err != nil {
			return err
		}
		f.v[38] = it.AuthCode
	}
	if r.BatchNumber < 0 {
		return errors.New("iso8583: negative batch number")
	}
	de48 := tlv(tagBatch, strconv.FormatInt(r.BatchNumber, 10))
	if r.Last {
		de48 += tlv(tagLast, "1")
	}
	f.v[48] = de48
	return nil
}

// UnpackUpload unpacks a batch upload (0320).
func UnpackUpload(b []byte) (paygate.UploadRequest, error) {
	var r paygate.UploadRequest
	var f fieldSet
	h, err := readHeader(b, paygate.MTIBatchUpload, &f)
	if err != nil {
		return r, err
	}
	switch f.v[3] {
	case ProcPurchase:
		r.Item.Kind = "debit"
	case ProcRefund:
		r.Item.Kind = "credit"
	default:
		return r, errors.New("iso8583: 0320 with a processing code other than purchase or refund")
	}
	if f.v[4] == "" || f.v[37] == "" {
		return r, errors.New("iso8583: 0320 without field 4 or 37")
	}
	if r.Item.Amount, err = parseNumber(f.v[4], 4); err != nil {
		return r, err
	}
	r.Item.RRN, r.Item.AuthCode, r.Item.Currency = f.v[37], f.v[38], h.currency
	r.MerchantID, r.TerminalID, r.STAN, r.TransmissionTime = h.merchant, h.terminal, h.stan, h.time
	r.BatchNumber, r.Last = h.batch, h.sub[tagLast] == "1"
	return r, nil
}

// PackUploadResponse packs the answer (0330) to an upload: DE3, 4, 7, 11,
// 37, 41, 42, 48's batch number and 49 echoed, and DE39.
func PackUploadResponse(req paygate.UploadRequest, responseCode string) ([]byte, error) {
	var out fieldSet
	if err := out.uploadResponse(req, responseCode); err != nil {
		return nil, err
	}
	return out.pack()
}

// uploadResponse fills f with the answer to req.
func (f *fieldSet) uploadResponse(req paygate.UploadRequest, responseCode string) error {
	var in fieldSet
	if err := in.upload(req); err != nil {
		return err
	}
	if err := checkResponseCode(responseCode); err != nil {
		return err
	}
	f.mti = paygate.ResponseMTI(in.mti)
	for _, id := range [...]int{3, 4, 7, 11, 37, 41, 42, 49} {
		f.v[id] = in.v[id]
	}
	f.v[48] = tlv(tagBatch, strconv.FormatInt(req.BatchNumber, 10))
	f.v[39] = responseCode
	return nil
}

// UnpackUploadResponse unpacks a 0330: its response code, MTI and STAN.
func UnpackUploadResponse(b []byte) (responseCode, mti, stan string, err error) {
	var f fieldSet
	h, err := readHeader(b, paygate.ResponseMTI(paygate.MTIBatchUpload), &f)
	if err != nil {
		return "", "", "", err
	}
	if f.v[39] == "" {
		return "", h.mti, h.stan, fmt.Errorf("iso8583: %q without field 39", h.mti)
	}
	return f.v[39], h.mti, h.stan, nil
}
