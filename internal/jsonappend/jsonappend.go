// Package jsonappend writes JSON by hand where encoding/json's reflection
// showed in the profile of a sale: what it writes is, byte for byte, what
// json.Marshal writes for the same value (each user holds itself to that
// in its tests).
package jsonappend

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonSafe holds true for the ASCII bytes that encoding/json writes as they
// are in a string: all but the control characters, '"', '\\', and (HTML
// escaping, its default) '<', '>' and '&'.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = true
	}
	for _, c := range `"\<>&` {
		safe[c] = false
	}
	return safe
}()

// String appends s as a JSON string, escaped as encoding/json
// escapes it by default: '"' and '\\' with a backslash; \b, \f, \n, \r and
// \t as such; other control characters and '<', '>' and '&' as \u00XX;
// U+2028 and U+2029 as \u2028 and \u2029; each byte of invalid UTF-8 as
// \ufffd.
func String(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// OptionalString appends key (`,"name":` or `"name":`) and s unless s is
// empty (omitempty).
func OptionalString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return String(append(b, key...), s)
}

// OptionalInt appends key and n unless n is 0 (omitempty).
func OptionalInt(b []byte, key string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), n, 10)
}

// Time appends t as time.Time.MarshalJSON writes it: RFC 3339 with as many
// digits of the nanoseconds as are not zero, quoted. A time RFC 3339
// cannot write (a year past 9999) is an error, as it is to json.Marshal.
func Time(b []byte, t time.Time) ([]byte, error) {
	nb, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, fmt.Errorf("encode time: %w", err)
	}
	return append(nb, '"'), nil
}
