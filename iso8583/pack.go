package iso8583

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Packing and unpacking of a fieldSet with Spec, without the library.
//
// The library's Message allocates for every field it is given or finds
// (a field instance, a map entry, copies of the value on the way in and
// out), and a sale is packed and unpacked four times. appendPack and unpack
// below follow the same field table, read from Spec once (formats), and
// give exactly the library's bytes and the library's outcomes for our spec:
// the tests hold them to it, field by field, with golden fieldSets and fuzz
// tests (pack_test.go). What the library does that a reader might not
// expect, and so do we:
//
//   - The MTI is any 4 ASCII characters; digits are the callers' concern.
//   - The bitmap's hex is written in upper case and read in either case.
//   - When the first bit of the secondary bitmap is set, a third bitmap
//     follows (and so on); it is read, and any field it marks is refused
//     as one the spec does not define.
//   - Bytes after the last field are ignored.
//   - A field of length zero (an LLVAR "00", a spaced field of spaces)
//     unpacks to "", which in a fieldSet means absent.

// bitmapLen is the length of one bitmap in bytes; on the wire, twice as
// many hex characters. Two bitmaps reach maxField. In memory a bitmap is a
// uint64 whose top bit is the bitmap's bit 1, the presence of the next.
const bitmapLen = 8

// presence is the bit of a bitmap that says another follows.
const presence = 1 << 63

// bit is the bit of field id within its bitmap (bitmap (id-1)/64).
func bit(id int) uint64 { return presence >> ((id - 1) % 64) }

var (
	errUndefined = errors.New("not defined in the spec")
	errNonASCII  = errors.New("non-ASCII character")
	errFormat    = errors.New("format this packer does not handle")
)

// hexDigits are the digits the library writes a bitmap with.
const hexDigits = "0123456789ABCDEF"

// appendPack appends f, packed with Spec, to dst and returns the extended
// slice: the MTI, the bitmap (secondary only when a field above 64 is
// present) and the fields present, in order. It grows dst at most once and
// allocates nothing else. A value that does not fit its field (the wrong
// length for a fixed field, too long for a variable or spaced one, a byte
// above 127) or a field Spec does not define is an error, and dst comes
// back unchanged. Callers check values before they fill f, so an error is
// a bug; it names the field and the lengths, never the value.
func (f *fieldSet) appendPack(dst []byte) ([]byte, error) {
	if !formats[1].packable {
		return dst, packFieldErr(1, errFormat)
	}
	size, err := formats[0].packedLen(f.mti)
	if err != nil {
		return dst, packFieldErr(0, err)
	}
	var bitmaps [2]uint64
	for id := 2; id <= maxField; id++ {
		v := f.v[id]
		if v == "" {
			continue
		}
		n, err := formats[id].packedLen(v)
		if err != nil {
			return dst, packFieldErr(id, err)
		}
		size += n
		bitmaps[(id-1)/64] |= bit(id)
	}
	used := bitmaps[:1]
	if bitmaps[1] != 0 {
		bitmaps[0] |= presence
		used = bitmaps[:]
	}
	size += 2 * bitmapLen * len(used)

	dst = slices.Grow(dst, size)
	dst = append(dst, f.mti...)
	for _, w := range used {
		for shift := 60; shift >= 0; shift -= 4 {
			dst = append(dst, hexDigits[w>>shift&0xf])
		}
	}
	for i, w := range used {
		for w &^= presence; w != 0; {
			n := bits.LeadingZeros64(w)
			w &^= presence >> n
			id := 64*i + n + 1
			dst = formats[id].appendValue(dst, f.v[id])
		}
	}
	return dst, nil
}

// pack packs f into a new slice of its own length.
func (f *fieldSet) pack() ([]byte, error) { return f.appendPack(nil) }

// packedLen checks v for the field and returns the length it packs to.
func (ft *format) packedLen(v string) (int, error) {
	switch {
	case !ft.defined:
		return 0, errUndefined
	case !ft.packable:
		return 0, errFormat
	}
	for i := 0; i < len(v); i++ {
		if v[i] > 127 {
			return 0, errNonASCII
		}
	}
	switch {
	case ft.digits > 0:
		if len(v) > ft.length {
			return 0, fmt.Errorf("length %d, want at most %d", len(v), ft.length)
		}
		return ft.digits + len(v), nil
	case ft.spaced && len(v) <= ft.length:
		return ft.length, nil
	case len(v) != ft.length:
		return 0, fmt.Errorf("length %d, want %d", len(v), ft.length)
	}
	return ft.length, nil
}

// appendValue appends v, checked by packedLen, as the field packs it: the
// length prefix, the value, the spaces that pad it.
func (ft *format) appendValue(dst []byte, v string) []byte {
	if ft.digits > 0 {
		start := len(dst)
		for range ft.digits {
			dst = append(dst, '0')
		}
		for i, n := len(dst)-1, len(v); i >= start && n > 0; i, n = i-1, n/10 {
			dst[i] = byte('0' + n%10)
		}
	}
	dst = append(dst, v...)
	if ft.spaced {
		for i := len(v); i < ft.length; i++ {
			dst = append(dst, ' ')
		}
	}
	return dst
}

func packFieldErr(id int, err error) error {
	return fmt.Errorf("iso8583: pack: field %d (%s): %w", id, formats[id].desc, err)
}

// unpack fills f from b as Spec reads it, refusing what the library
// refuses: a message cut short, a bitmap that is not hex, a bit for a field
// Spec does not define, a length prefix that is not digits or is over the
// field's length, a byte above 127 in a field. The MTI and the values are
// substrings of one string, one allocation, but for the values of apart
// fields, which get one each. On an error f is left empty. Errors name the
// field and never quote a value; for a field that may hold card data
// (sensitive) they say no more.
func (f *fieldSet) unpack(b []byte) error {
	if err := f.read(b); err != nil {
		*f = fieldSet{}
		return err
	}
	return nil
}

// read does unpack's work; unpack empties f when it fails.
func (f *fieldSet) read(b []byte) error {
	*f = fieldSet{}
	if !formats[0].packable || !formats[1].packable {
		return malformed(0, errFormat)
	}
	mtiLen := formats[0].length
	if len(b) < mtiLen {
		return malformed(0, fmt.Errorf("%d bytes, want %d", len(b), mtiLen))
	}
	for _, c := range b[:mtiLen] {
		if c > 127 {
			return malformed(0, errNonASCII)
		}
	}
	p := mtiLen

	// The bitmaps: read while the presence bit of the last one is set.
	// Bits beyond maxField are presence bits, or fields Spec cannot define.
	var bitmaps [2]uint64
	used := 0
	beyond := 0 // the first field beyond maxField marked present
	for i := 0; ; i++ {
		if len(b)-p < 2*bitmapLen {
			return malformed(1, fmt.Errorf("bitmap %d: %d bytes left, want %d", i+1, len(b)-p, 2*bitmapLen))
		}
		var w uint64
		for _, c := range b[p : p+2*bitmapLen] {
			d, ok := unhex(c)
			if !ok {
				return malformed(1, fmt.Errorf("bitmap %d is not hex", i+1))
			}
			w = w<<4 | uint64(d)
		}
		p += 2 * bitmapLen
		if i < len(bitmaps) {
			bitmaps[i], used = w, i+1
		} else if fields := w &^ presence; beyond == 0 && fields != 0 {
			beyond = 64*i + bits.LeadingZeros64(fields) + 1
		}
		if w&presence == 0 {
			break
		}
	}

	// The MTI and the values go into one string, lens saying how long
	// each value is in it; an apart field's value has its own.
	var (
		sb   strings.Builder
		lens [maxField + 1]int
	)
	sb.Grow(len(b))
	sb.Write(b[:mtiLen])
	for i, w := range bitmaps[:used] {
		for w &^= presence; w != 0; {
			n := bits.LeadingZeros64(w)
			w &^= presence >> n
			id := 64*i + n + 1
			from, to, next, err := formats[id].span(b[p:])
			if err != nil {
				return malformed(id, err)
			}
			if v := b[p+from : p+to]; apart(id) {
				f.v[id] = string(v)
			} else {
				sb.Write(v)
				lens[id] = len(v)
			}
			p += next
		}
	}
	if beyond != 0 {
		return malformed(beyond, errUndefined)
	}
	s := sb.String()
	f.mti, s = s[:mtiLen], s[mtiLen:]
	for id, n := range lens {
		if n > 0 {
			f.v[id], s = s[:n], s[n:]
		}
	}
	return nil
}

// apart reports whether field id may carry sensitive authentication data:
// track 2, the CVC2 in DE48, the PIN block, ICC data. Unpacking gives the
// value of such a field a string of its own, so that no other value,
// which may live long after the answer (an RRN, a merchant id), keeps it
// in memory.
func apart(id int) bool { return id == 35 || id == 48 || id == 52 || id == 55 }

// span reads the field from the start of s: its value is s[from:to]
// (without the spaces that pad it) and it takes s[:n].
func (ft *format) span(s []byte) (from, to, n int, err error) {
	switch {
	case !ft.defined:
		return 0, 0, 0, errUndefined
	case !ft.packable:
		return 0, 0, 0, errFormat
	}
	n = ft.length
	if ft.digits > 0 {
		if len(s) < ft.digits {
			return 0, 0, 0, fmt.Errorf("%d bytes left, want a %d-digit length", len(s), ft.digits)
		}
		n = 0
		for i := range ft.digits {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, 0, 0, errors.New("length prefix is not numeric")
			}
			n = n*10 + int(c-'0')
		}
		if n > ft.length {
			return 0, 0, 0, fmt.Errorf("length %d, want at most %d", n, ft.length)
		}
	}
	from, n = ft.digits, ft.digits+n
	if len(s) < n {
		return 0, 0, 0, fmt.Errorf("%d bytes left, want %d", len(s), n)
	}
	for _, c := range s[from:n] {
		if c > 127 {
			return 0, 0, 0, errNonASCII
		}
	}
	to = n
	if ft.spaced {
		for to > from && s[to-1] == ' ' {
			to--
		}
	}
	return from, to, n, nil
}

// malformed is an unpacking error for field id: 0 the MTI, 1 the bitmap.
func malformed(id int, err error) error {
	if sensitive(id) {
		return fmt.Errorf("iso8583: malformed field %d", id)
	}
	return fmt.Errorf("iso8583: malformed field %d: %w", id, err)
}

// unhex is the value of one hex digit, in either case.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
