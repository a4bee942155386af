package paygate

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O, U, easy to read aloud.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns prefix_ followed by 26 lowercase Crockford base32 characters:
// 48 bits of milliseconds then 80 random bits, so ids sort by creation time
// and serve as pagination cursors.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return encodeID(prefix, b)
}

// encodeID writes b's 128 bits as prefix_ and 26 lowercase base32
// characters (130 bits, two leading zero bits).
func encodeID(prefix string, b [16]byte) string {
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + "_" + strings.ToLower(string(out[:]))
}

// IDFloor returns the smallest id NewID(prefix, t') returns for any t' in
// t's millisecond or after it, and the largest id it returns for any t'
// before t's millisecond is smaller: an id at or after IDFloor(prefix, t)
// was made at or after t (to the millisecond). A range of ids is a range of
// creation times that the id's index serves.
func IDFloor(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	return encodeID(prefix, b)
}

// NewConfirmationNumber returns a number a person can read out on the phone:
// "PG-" and two groups of four Crockford base32 characters (40 random bits).
func NewConfirmationNumber() string {
	var b [5]byte
	rand.Read(b[:])
	v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	var out [8]byte
	for i := 7; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return "PG-" + string(out[:4]) + "-" + string(out[4:])
}

// RandomToken returns n random bytes as lowercase base32 characters.
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	out := make([]byte, n)
	for i, c := range b {
		out[i] = crockford[c&31]
	}
	return strings.ToLower(string(out))
}

// RandomDigits returns n random decimal digits.
func RandomDigits(n int) string {
	t := RandomToken(n)
	b := []byte(t)
	for i, c := range b {
		b[i] = '0' + c%10
	}
	return string(b)
}
