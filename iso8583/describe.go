package iso8583

import (
	"strconv"
	"strings"

	"github.com/paygate/paygate"
)

// hidden lists the fields Describe never shows: expiry, track 2, PIN block,
// ICC data and the private field that carries the CVC2.
var hidden = map[int]bool{14: true, 35: true, 48: true, 52: true, 55: true}

// sensitive reports whether field id may hold card data.
func sensitive(id int) bool { return id == 2 || hidden[id] }

// Describe returns a one-line trace of a packed message for logs: the MTI,
// then id=value for each field present, with DE2 masked to first six and
// last four and DE14, 35, 48, 52 and 55 replaced by ***. It never fails: a
// message that does not parse is described by its length.
func Describe(b []byte) string {
	var f fieldSet
	if err := f.unpack(b); err != nil {
		return "malformed ISO 8583 message (" + strconv.Itoa(len(b)) + " bytes): " + err.Error()
	}
	var sb strings.Builder
	sb.Grow(len(b) + 64)
	writeValue(&sb, f.mti)
	for id := 2; id <= maxField; id++ {
		v := f.v[id]
		if v == "" {
			continue
		}
		sb.WriteByte(' ')
		sb.WriteString(strconv.Itoa(id))
		sb.WriteByte('=')
		switch {
		case id == 2:
			writeValue(&sb, paygate.MaskPAN(v))
		case hidden[id]:
			sb.WriteString("***")
		default:
			writeValue(&sb, v)
		}
	}
	return sb.String()
}

// writeValue writes v bare when it is a plain token, quoted otherwise.
func writeValue(sb *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' || v[i] == '"' || v[i] == '=' {
			sb.WriteString(strconv.Quote(v))
			return
		}
	}
	sb.WriteString(v)
}
