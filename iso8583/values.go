package iso8583

// Field values: parsing, checking and formatting them for our message set.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

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
	n := fieldLength(11)
	if s == "" || len(s) > n || !isDigits(s) {
		return "", fmt.Errorf("iso8583: STAN must be 1 to %d digits", n)
	}
	return strings.Repeat("0", n-len(s)) + s, nil
}

var errRRN = fmt.Errorf("iso8583: retrieval reference number must be %d characters", fieldLength(37))

func checkAuthCode(s string) error {
	if len(s) > fieldLength(38) || !isPrintable(s) {
		return fmt.Errorf("iso8583: authorization code must be at most %d characters", fieldLength(38))
	}
	return nil
}

func checkResponseCode(s string) error {
	if len(s) != fieldLength(39) || !isPrintable(s) {
		return fmt.Errorf("iso8583: response code must be %d characters", fieldLength(39))
	}
	return nil
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

// ans checks a value for fixed alphanumeric-special field id; short values
// are padded with spaces by Spec.
func ans(s string, id int, name string) (string, error) {
	if max := fieldLength(id); len(s) > max || !isPrintable(s) {
		return "", fmt.Errorf("iso8583: %s must be at most %d printable ASCII characters", name, max)
	}
	return s, nil
}

// merchantName fits a name into DE43: printable ASCII, cut to the field's
// length.
func merchantName(s string) string {
	if s == "" {
		return ""
	}
	max := fieldLength(43)
	var b strings.Builder
	b.Grow(min(len(s), max))
	for _, r := range s {
		if b.Len() == max {
			break
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		b.WriteByte(byte(r))
	}
	return b.String()
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
