package iso8583

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/paygate/paygate"
)

// MaxFrame is the longest message a frame carries: its length travels in
// two bytes.
const MaxFrame = 1<<16 - 1

// ErrFrameTooLong is returned by WriteFrame for a message longer than
// MaxFrame.
var ErrFrameTooLong = errors.New("iso8583: message longer than a frame")

// AppendFrame appends msg to dst with its 2-byte big-endian length prefix.
func AppendFrame(dst, msg []byte) ([]byte, error) {
	if len(msg) > MaxFrame {
		return dst, ErrFrameTooLong
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...), nil
}

// WriteFrame writes msg to w with its 2-byte big-endian length prefix, in
// one Write.
func WriteFrame(w io.Writer, msg []byte) error {
	b, err := AppendFrame(make([]byte, 0, 2+len(msg)), msg)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadFrame reads one length-prefixed message from r. Empty frames (a
// length of 0, which some networks send as a keep-alive) are skipped. It
// returns io.EOF when r ends between frames and io.ErrUnexpectedEOF when it
// ends inside one. The message is freshly allocated.
func ReadFrame(r io.Reader) ([]byte, error) {
	var h [2]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(h[:]))
		if n == 0 {
			continue
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("iso8583: read frame of %d bytes: %w", n, err)
		}
		return msg, nil
	}
}

// MTIOf returns the MTI of a packed message, or "" when it is too short to
// have one.
func MTIOf(msg []byte) string {
	if n := fieldLength(0); len(msg) >= n {
		return string(msg[:n])
	}
	return ""
}

// answerKey is what matches an answer to its request on a link: the MTI of
// the answer, the STAN (DE11) and the transmission date and time (DE7).
type answerKey struct {
	mti, stan, sent string
}

// answerKeyOf reads a message's answerKey straight from the packed bytes,
// without unpacking the message, with the field lengths of Spec. For a
// request, the MTI is the one its answer will carry. ok is false when the
// message is too short or carries a field before DE11 that Spec does not
// define.
func answerKeyOf(b []byte) (key answerKey, ok bool) {
	mtiLen := fieldLength(0)
	var bitmap [8]byte
	bitmapEnd := mtiLen + hex.EncodedLen(len(bitmap))
	if len(b) < bitmapEnd {
		return key, false
	}
	mti := b[:mtiLen]
	for _, c := range mti {
		if c < '0' || c > '9' {
			return key, false
		}
	}
	if _, err := hex.Decode(bitmap[:], b[mtiLen:bitmapEnd]); err != nil {
		return key, false
	}
	p := bitmapEnd
	if bitmap[0]&0x80 != 0 { // secondary bitmap
		p += hex.EncodedLen(len(bitmap))
	}
	has := func(id int) bool { return bitmap[(id-1)/8]&(0x80>>((id-1)%8)) != 0 }
	var de7, de11 []byte
	for id := 2; id <= 11; id++ {
		if !has(id) {
			continue
		}
		n := fieldLength(id)
		if n == 0 { // not in Spec
			return key, false
		}
		if digits := lengthDigits(id); digits > 0 {
			if len(b) < p+digits {
				return key, false
			}
			n = 0
			for _, c := range b[p : p+digits] {
				if c < '0' || c > '9' {
					return key, false
				}
				n = n*10 + int(c-'0')
			}
			p += digits
		}
		if len(b) < p+n {
			return key, false
		}
		switch id {
		case 7:
			de7 = b[p : p+n]
		case 11:
			de11 = b[p : p+n]
		}
		p += n
	}
	if de11 == nil {
		return key, false
	}
	key = answerKey{mti: string(mti), stan: string(de11), sent: string(de7)}
	if isRequest(mti) { // key it by its answer's MTI
		key.mti = paygate.ResponseMTI(key.mti)
	}
	return key, true
}

// isRequest reports whether an MTI is a request's (its third digit, the
// message function, is even) rather than an answer's.
func isRequest(mti []byte) bool { return mti[2]%2 == 0 }
