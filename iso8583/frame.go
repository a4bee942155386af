package iso8583

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// traceKey returns what matches an answer to its request on a link: the MTI
// of the answer, the STAN (DE11) and the transmission date and time (DE7),
// read straight from the packed bytes without unpacking the message. For a
// request, mti is the MTI its answer will carry. ok is false when the message
// is too short or carries a field before DE11 that Spec does not define.
func traceKey(b []byte) (key string, ok bool) {
	if len(b) < 4+16 {
		return "", false
	}
	mti := b[:4]
	for _, c := range mti {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	var bitmap [8]byte
	if _, err := hexDecode(bitmap[:], b[4:20]); err != nil {
		return "", false
	}
	p := 20
	if bitmap[0]&0x80 != 0 { // secondary bitmap
		p += 16
	}
	has := func(id int) bool { return bitmap[(id-1)/8]&(0x80>>((id-1)%8)) != 0 }
	var de7, de11 []byte
	for id := 2; id <= 11; id++ {
		if !has(id) {
			continue
		}
		n := 0
		switch id {
		case 2: // LLVAR
			if len(b) < p+2 || b[p] < '0' || b[p] > '9' || b[p+1] < '0' || b[p+1] > '9' {
				return "", false
			}
			n = int(b[p]-'0')*10 + int(b[p+1]-'0')
			p += 2
		case 3:
			n = 6
		case 4:
			n = 12
		case 7:
			n = 10
		case 11:
			n = 6
		default:
			return "", false
		}
		if len(b) < p+n {
			return "", false
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
		return "", false
	}
	m := string(mti)
	if mti[2]%2 == 0 { // a request: key it by its answer's MTI
		m = ResponseMTI(m)
	}
	return m + string(de11) + string(de7), true
}

// hexDecode decodes upper- or lower-case hex src into dst.
func hexDecode(dst, src []byte) (int, error) {
	val := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := val(src[2*i])
		lo, ok2 := val(src[2*i+1])
		if !ok1 || !ok2 {
			return i, errors.New("invalid hex")
		}
		dst[i] = hi<<4 | lo
	}
	return len(dst), nil
}
