package iso8583

import (
	"errors"
	"fmt"

	moov "github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Spec is our ISO 8583:1987 ASCII message specification. Every field is a
// string field, so that values such as processing code "000000" keep their
// leading zeros; we check digits and lengths ourselves when packing.
//
// The bitmap is 8 bytes written as 16 hex characters; the library expands it
// to a secondary bitmap (32 hex characters in all) only when a field above 64
// is present.
var Spec = &moov.MessageSpec{
	Name: "paygate ISO 8583:1987 ASCII",
	Fields: map[int]field.Field{
		0: field.NewString(&field.Spec{
			Length: 4, Description: "Message Type Indicator",
			Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed,
		}),
		1: field.NewBitmap(&field.Spec{
			Length: 8, Description: "Bitmap",
			Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed,
		}),
		2:  llvar(19, "Primary Account Number"),
		3:  fixed(6, "Processing Code"),
		4:  fixed(12, "Amount, Transaction"),
		7:  fixed(10, "Transmission Date & Time"),
		11: fixed(6, "Systems Trace Audit Number"),
		12: fixed(6, "Time, Local Transaction"),
		13: fixed(4, "Date, Local Transaction"),
		14: fixed(4, "Date, Expiration"),
		15: fixed(4, "Date, Settlement"),
		18: fixed(4, "Merchant Type"),
		22: fixed(3, "POS Entry Mode"),
		25: fixed(2, "POS Condition Code"),
		32: llvar(11, "Acquiring Institution Identification Code"),
		35: llvar(37, "Track 2 Data"),
		37: fixed(12, "Retrieval Reference Number"),
		38: spaced(6, "Authorization Identification Response"),
		39: fixed(2, "Response Code"),
		41: spaced(8, "Card Acceptor Terminal Identification"),
		42: spaced(15, "Card Acceptor Identification Code"),
		43: spaced(40, "Card Acceptor Name/Location"),
		48: lllvar(999, "Additional Data - Private"),
		49: fixed(3, "Currency Code, Transaction"),
		52: fixed(16, "PIN Data"),
		55: lllvar(999, "ICC Data"),
		63: lllvar(999, "Reserved Private (settlement differences)"),
		70: fixed(3, "Network Management Information Code"),
		74: fixed(10, "Credits, Number"),
		75: fixed(10, "Credits, Reversal Number"),
		76: fixed(10, "Debits, Number"),
		77: fixed(10, "Debits, Reversal Number"),
		81: fixed(10, "Authorizations, Number"),
		84: fixed(12, "Debits, Processing Fee Amount"),
		86: fixed(16, "Credits, Amount"),
		87: fixed(16, "Credits, Reversal Amount"),
		88: fixed(16, "Debits, Amount"),
		89: fixed(16, "Debits, Reversal Amount"),
		90: fixed(42, "Original Data Elements"),
		95: fixed(42, "Replacement Amounts"),
		97: fixed(17, "Amount, Net Settlement"),
	},
}

// format is how one field of Spec travels, read from Spec once into
// formats: the packer (pack.go) follows it, so that each length and kind is
// written once, in Spec.
type format struct {
	defined  bool   // Spec defines the field
	packable bool   // a format pack.go handles: ASCII fixed, spaced, LLVAR or LLLVAR; the hex bitmap
	length   int    // a fixed field's length, the longest value of a variable one; the bitmap's in bytes
	digits   int    // the length of the length prefix: 0 for a fixed field
	spaced   bool   // fixed, padded on the right with spaces, which unpacking removes
	desc     string // Spec's description, for errors
}

// formats holds the format of each field of Spec, by field number.
var formats = formatsOf(Spec)

// formatsOf reads the format of each field of spec. A field whose format
// pack.go does not handle is marked so, and packing or unpacking a message
// with it fails (TestFormats checks that Spec has none).
func formatsOf(spec *moov.MessageSpec) (t [maxField + 1]format) {
	for id, fl := range spec.Fields {
		if id < 0 || id > maxField {
			continue
		}
		s := fl.Spec()
		ft := format{defined: true, length: s.Length, desc: s.Description}
		switch c := s.Packer.(type) {
		case asciiCodec:
			u, ok := s.Unpacker.(asciiCodec)
			ft.packable, ft.digits, ft.spaced = ok && u == c, c.digits, c.spaced
		case nil:
			switch fl.(type) {
			case *field.String: // the MTI: the library's own ASCII fixed packer
				ft.packable = id == 0 && s.Unpacker == nil && s.Enc == encoding.ASCII && s.Pref == prefix.ASCII.Fixed && s.Pad == nil
			case *field.Bitmap:
				ft.packable = id == 1 && s.Length == bitmapLen && s.Enc == encoding.BytesToASCIIHex && s.Pref == prefix.Hex.Fixed && !s.DisableAutoExpand
			}
		}
		t[id] = ft
	}
	return t
}

// fieldLength is the length of field id as Spec defines it: a fixed field's
// length, the longest value of a variable one (the bitmap's in bytes). Values
// are checked against it, so that each length is written once, in Spec.
func fieldLength(id int) int { return formats[id].length }

// lengthDigits is the length of field id's length prefix: 0 for a fixed
// field.
func lengthDigits(id int) int { return formats[id].digits }

func fixed(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed,
		Packer: asciiCodec{}, Unpacker: asciiCodec{}})
}

// spaced is a fixed alphanumeric field, left-justified and padded with spaces.
func spaced(n int, desc string) *field.String {
	c := asciiCodec{spaced: true}
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed, Pad: padding.Right(' '),
		Packer: c, Unpacker: c})
}

func llvar(n int, desc string) *field.String {
	c := asciiCodec{digits: 2}
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.LL, Packer: c, Unpacker: c})
}

func lllvar(n int, desc string) *field.String {
	c := asciiCodec{digits: 3}
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.LLL, Packer: c, Unpacker: c})
}

// asciiCodec packs and unpacks an ASCII field the way its Enc, Pref and Pad
// describe, without the per-byte allocations of the library's generic
// encoders: a fixed field packs to its own bytes, a variable one to one
// allocation. digits is the length of the length prefix (0 for fixed).
//
// The package packs its own messages without the library (pack.go); the
// codec is what the library uses with Spec: in the tests, which hold
// pack.go to the library's output, and for any other user of Spec.
type asciiCodec struct {
	digits int
	spaced bool
}

var spaces = []byte("                                        ") // the longest spaced field

func (c asciiCodec) Pack(v []byte, spec *field.Spec) ([]byte, error) {
	if c.spaced && len(v) < spec.Length {
		v = append(v, spaces[:spec.Length-len(v)]...)
	}
	for _, b := range v {
		if b > 127 {
			return nil, errors.New("non-ASCII character")
		}
	}
	if c.digits == 0 {
		if len(v) != spec.Length {
			return nil, fmt.Errorf("length %d, want %d", len(v), spec.Length)
		}
		return v, nil
	}
	if len(v) > spec.Length {
		return nil, fmt.Errorf("length %d, want at most %d", len(v), spec.Length)
	}
	out := make([]byte, c.digits+len(v))
	for i, n := c.digits-1, len(v); i >= 0; i, n = i-1, n/10 {
		out[i] = byte('0' + n%10)
	}
	copy(out[c.digits:], v)
	return out, nil
}

func (c asciiCodec) Unpack(data []byte, spec *field.Spec) ([]byte, int, error) {
	n := spec.Length
	if c.digits > 0 {
		if len(data) < c.digits {
			return nil, 0, errors.New("no length prefix")
		}
		n = 0
		for _, b := range data[:c.digits] {
			if b < '0' || b > '9' {
				return nil, 0, errors.New("length prefix is not numeric")
			}
			n = n*10 + int(b-'0')
		}
		if n > spec.Length {
			return nil, 0, fmt.Errorf("length %d, want at most %d", n, spec.Length)
		}
	}
	end := c.digits + n
	if len(data) < end {
		return nil, 0, fmt.Errorf("%d bytes left, want %d", len(data), end)
	}
	v := data[c.digits:end]
	for _, b := range v {
		if b > 127 {
			return nil, 0, errors.New("non-ASCII character")
		}
	}
	if c.spaced {
		for len(v) > 0 && v[len(v)-1] == ' ' {
			v = v[:len(v)-1]
		}
	}
	return v, end, nil
}
