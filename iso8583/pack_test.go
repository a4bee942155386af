package iso8583

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/paygate/paygate"
)

// TestFormats: pack.go handles every field of Spec, and each length fits
// the digits of its prefix.
func TestFormats(t *testing.T) {
	for id, fl := range Spec.Fields {
		if id < 0 || id > maxField {
			t.Errorf("field %d is beyond maxField %d", id, maxField)
			continue
		}
		ft := formats[id]
		if !ft.defined || !ft.packable {
			t.Errorf("field %d (%s): format %+v, want one pack.go handles", id, fl.Spec().Description, ft)
		}
		if ft.digits > 0 && len(strconv.Itoa(ft.length)) > ft.digits {
			t.Errorf("field %d: length %d does not fit %d digits", id, ft.length, ft.digits)
		}
		if ft.spaced && ft.length > len(spaces) {
			t.Errorf("field %d: length %d, longer than the codec's spaces", id, ft.length)
		}
	}
	if formats[0].length != 4 || formats[1].length != bitmapLen {
		t.Errorf("MTI %d bytes, bitmap %d: want 4 and %d", formats[0].length, formats[1].length, bitmapLen)
	}
}

// TestPackGolden: for the fieldSet of every message the package builds and
// for fieldSets at the edges of Spec, appendPack gives the library's bytes,
// and unpack gives back the fieldSet, as the library does.
func TestPackGolden(t *testing.T) {
	for _, tt := range allFieldSets(t) {
		t.Run(tt.name, func(t *testing.T) {
			want, err := moovPack(&tt.f)
			if err != nil {
				t.Fatalf("library: %v", err)
			}
			got, err := tt.f.appendPack(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("packed\n%q\nwant the library's\n%q", got, want)
			}
			if got, err := tt.f.appendPack([]byte("xy")); err != nil || string(got) != "xy"+string(want) {
				t.Errorf("appendPack(xy) = %q, %v, want xy and the message", got, err)
			}
			var back fieldSet
			if err := back.unpack(want); err != nil {
				t.Fatal(err)
			}
			if d := diff(&back, &tt.f); d != "" {
				t.Errorf("unpacked: %s", d)
			}
			ref, err := moovUnpack(want)
			if err != nil {
				t.Fatalf("library: %v", err)
			}
			if d := diff(&back, &ref); d != "" {
				t.Errorf("unpacked, against the library: %s", d)
			}
		})
	}
}

// TestPackTestdata: the golden messages under testdata unpack as the
// library unpacks them and pack again to the same bytes.
func TestPackTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "0*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f fieldSet
		if err := f.unpack(b); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ref, err := moovUnpack(b)
		if err != nil {
			t.Fatalf("%s: library: %v", path, err)
		}
		if d := diff(&f, &ref); d != "" {
			t.Errorf("%s: %s", path, d)
		}
		if got, err := f.pack(); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: packed again to\n%q, %v\nwant\n%q", path, got, err, b)
		}
	}
}

// TestPackRefuses: what the library refuses to pack, appendPack refuses,
// leaving dst as it was, with an error that names the field and not the
// value.
func TestPackRefuses(t *testing.T) {
	var base fieldSet
	if err := base.request(testRequest(paygate.NetworkSale)); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(f *fieldSet){
		"MTI short":               func(f *fieldSet) { f.mti = "020" },
		"MTI long":                func(f *fieldSet) { f.mti = "02000" },
		"no MTI":                  func(f *fieldSet) { f.mti = "" },
		"MTI not ASCII":           func(f *fieldSet) { f.mti = "02\xc30" },
		"fixed short":             func(f *fieldSet) { f.v[3] = "00000" },
		"fixed long":              func(f *fieldSet) { f.v[4] = "0000000019990" },
		"fixed not ASCII":         func(f *fieldSet) { f.v[49] = "8\xff0" },
		"spaced long":             func(f *fieldSet) { f.v[41] = "WEB000012" },
		"spaced not ASCII":        func(f *fieldSet) { f.v[43] = "Caf\xc3\xa9" },
		"spaced full not ASCII":   func(f *fieldSet) { f.v[38] = "\x80\x80\x80\x80\x80\x80" },
		"LLVAR long":              func(f *fieldSet) { f.v[2] = "42424242424242424242" },
		"LLVAR not ASCII":         func(f *fieldSet) { f.v[32] = "\x80" },
		"LLLVAR long":             func(f *fieldSet) { f.v[48] = strings.Repeat("9", 1000) },
		"LLLVAR not ASCII":        func(f *fieldSet) { f.v[63] = "ok\xfe" },
		"secondary fixed short":   func(f *fieldSet) { f.v[97] = "C1" },
		"undefined field 5":       func(f *fieldSet) { f.v[5] = "000000000001" },
		"undefined field 65":      func(f *fieldSet) { f.v[65] = "1" },
		"undefined field 128":     func(f *fieldSet) { f.v[128] = "0123456789ABCDEF" },
		"undefined field 64 only": func(f *fieldSet) { *f = fieldSet{mti: "0200"}; f.v[64] = "0123456789ABCDEF" },
	}
	for name, mutate := range tests {
		f := base
		mutate(&f)
		if b, err := moovPack(&f); err == nil {
			t.Errorf("%s: the library packs it: %q", name, b)
		}
		dst := []byte("xy")
		got, err := f.appendPack(dst)
		if err == nil {
			t.Errorf("%s: packed %q, want an error", name, got)
			continue
		}
		if string(got) != "xy" {
			t.Errorf("%s: dst %q after the error, want it unchanged", name, got)
		}
		if strings.Contains(err.Error(), base.v[2]) || !strings.Contains(err.Error(), "field") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// TestUnpackAgrees: on messages cut, bent and padded in the ways a reader
// might not expect, unpack succeeds where the library succeeds, with the
// same fields, and fails where it fails.
func TestUnpackAgrees(t *testing.T) {
	pack := func(f fieldSet) []byte {
		t.Helper()
		b, err := f.pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var sale, answer, mg fieldSet
	if err := sale.request(testRequest(paygate.NetworkSale)); err != nil {
		t.Fatal(err)
	}
	if err := answer.response(testRequest(paygate.NetworkSale), paygate.NetworkResponse{ResponseCode: "00", AuthCode: "AB"}); err != nil {
		t.Fatal(err)
	}
	if err := mg.management(Management{MTI: MTINetwork, Code: Echo, STAN: "1"}); err != nil {
		t.Fatal(err)
	}
	saleMsg, answerMsg, mgMsg := pack(sale), pack(answer), pack(mg)
	with := func(b []byte, at int, s string) []byte {
		out := append([]byte(nil), b...)
		return append(out[:at], append([]byte(s), b[at+len(s):]...)...)
	}
	// Where DE2's length prefix is in saleMsg.
	pan := bytes.Index(saleMsg, []byte("16"+sale.v[2]))
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"sale", saleMsg, true},
		{"answer", answerMsg, true},
		{"echo", mgMsg, true},
		{"lower-case bitmap", with(saleMsg, 4, strings.ToLower(string(saleMsg[4:20]))), true},
		{"lower-case secondary bitmap", with(mgMsg, 4, strings.ToLower(string(mgMsg[4:36]))), true},
		{"trailing bytes", append(append([]byte(nil), saleMsg...), "trailing\xff"...), true},
		{"empty", nil, false},
		{"MTI only", []byte("0200"), false},
		{"MTI cut", []byte("020"), false},
		{"MTI not ASCII", with(saleMsg, 1, "\xb2"), false},
		{"bitmap cut", saleMsg[:19], false},
		{"bitmap not hex", with(saleMsg, 7, "G"), false},
		{"bitmap with a space", with(saleMsg, 19, " "), false},
		{"secondary bitmap cut", mgMsg[:35], false},
		{"secondary bitmap not hex", with(mgMsg, 30, "x"), false},
		{"no fields", []byte("08000000000000000000"), true},
		{"undefined field 5", []byte("08000800000000000000000000000001"), false},
		{"undefined field 64", []byte("08000000000000000001"), false},
		{"undefined field 128", []byte("0800" + "8000000000000000" + "0000000000000001" + "0123456789ABCDEF"), false},
		{"third bitmap, empty", []byte("0800" + "8000000000000000" + "8000000000000000" + "0000000000000000"), true},
		{"third bitmap cut", []byte("0800" + "8000000000000000" + "8000000000000000" + "00000000"), false},
		{"third bitmap, field 130", []byte("0800" + "8000000000000000" + "8000000000000000" + "4000000000000000"), false},
		{"fourth bitmap, empty", []byte("0800" + "8000000000000000" + "8000000000000000" + "8000000000000000" + "0000000000000000"), true},
		{"fourth bitmap, field 200", []byte("0800" + "8000000000000000" + "8000000000000000" + "8000000000000000" + "0080000000000000"), false},
		{"third bitmap before DE70", []byte("0800" + "8000000000000000" + "8400000000000000" + "0000000000000000" + "301"), true},
		{"field 130 after a bad DE70", []byte("0800" + "8000000000000000" + "8400000000000000" + "4000000000000000" + "3\xff1"), false},
		{"LLVAR of zero", []byte("0100" + "4000000000000000" + "00"), true},
		{"LLVAR over its length", with(saleMsg, pan, "20"), false},
		{"LLVAR prefix signed", with(saleMsg, pan, "+9"), false},
		{"LLVAR prefix negative", with(saleMsg, pan, "-1"), false},
		{"LLVAR prefix not digits", with(saleMsg, pan, "1a"), false},
		{"LLVAR prefix space", with(saleMsg, pan, " 9"), false},
		{"LLVAR prefix cut", []byte("0100" + "4000000000000000" + "1"), false},
		{"LLVAR cut", []byte("0100" + "4000000000000000" + "054242"), false},
		{"LLLVAR of 999", []byte("0100" + "0000000000010000" + "999" + strings.Repeat("x", 999)), true},
		{"LLLVAR of 1000 is three digits", []byte("0100" + "0000000000010000" + "100" + strings.Repeat("x", 100) + "0"), true},
		{"spaced of spaces", []byte("0100" + "0000000000800000" + "        "), true},
		{"spaced cut", []byte("0100" + "0000000000800000" + "WEB0001"), false},
		{"fixed not ASCII", with(saleMsg, len(saleMsg)-1, "\x80"), false},
		{"fixed with controls", []byte("0100" + "2000000000000000" + "\x00\x01\x02\x7f\t\n"), true},
		{"PAN not ASCII", with(saleMsg, pan+3, "\xc4"), false},
	}
	for _, tt := range tests {
		var got fieldSet
		err := got.unpack(tt.b)
		want, werr := moovUnpack(tt.b)
		if (werr == nil) != tt.ok {
			t.Errorf("%s: the library says %v, the test expects ok=%v", tt.name, werr, tt.ok)
		}
		if (err == nil) != (werr == nil) {
			t.Errorf("%s: unpack: %v, library: %v", tt.name, err, werr)
			continue
		}
		if err != nil && got != (fieldSet{}) {
			t.Errorf("%s: fields left after the error", tt.name)
		}
		if d := diff(&got, &want); err == nil && d != "" {
			t.Errorf("%s: %s", tt.name, d)
		}
		if err != nil && strings.Contains(err.Error(), sale.v[2][:8]) {
			t.Errorf("%s: error %v quotes the card number", tt.name, err)
		}
	}
	// Every cut of a message with and without a secondary bitmap.
	for _, msg := range [][]byte{saleMsg, answerMsg, mgMsg} {
		for n := range len(msg) {
			var got fieldSet
			err := got.unpack(msg[:n])
			if _, werr := moovUnpack(msg[:n]); (err == nil) != (werr == nil) {
				t.Errorf("%s cut to %d: unpack: %v, library: %v", msg[:4], n, err, werr)
			}
		}
	}
}

// TestPackProperty: random fieldSets, most of them packable, some with a
// value of the wrong length or a byte above 127, pack as the library packs
// them or fail as it fails, and what packs unpacks as the library unpacks
// it.
func TestPackProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 8583))
	value := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			switch r := rng.IntN(200); {
			case r == 0:
				b[i] = byte(128 + rng.IntN(128))
			case r < 5:
				b[i] = byte(rng.IntN(32))
			case r < 10:
				b[i] = ' '
			default:
				b[i] = byte(33 + rng.IntN(94))
			}
		}
		return string(b)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	packed := 0
	for i := range n {
		f := fieldSet{mti: value(4)}
		if rng.IntN(50) == 0 {
			f.mti = value(rng.IntN(6))
		}
		for _, id := range specIDs {
			if rng.IntN(3) != 0 {
				continue
			}
			ft := formats[id]
			l := ft.length
			switch {
			case ft.digits > 0 || ft.spaced:
				l = rng.IntN(ft.length + 1)
			}
			if rng.IntN(40) == 0 {
				l += rng.IntN(3) - 1
			}
			f.v[id] = value(max(l, 0))
		}
		if rng.IntN(100) == 0 {
			f.v[1+rng.IntN(maxField)] = value(1 + rng.IntN(3))
		}
		want, werr := moovPack(&f)
		got, err := f.appendPack(nil)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%d: appendPack: %v, library: %v", i, err, werr)
		}
		if err != nil {
			continue
		}
		packed++
		if !bytes.Equal(got, want) {
			t.Fatalf("%d: packed\n%q\nwant the library's\n%q", i, got, want)
		}
		var back fieldSet
		ref, rerr := moovUnpack(got)
		if err := back.unpack(got); (err == nil) != (rerr == nil) {
			t.Fatalf("%d: unpack: %v, library: %v", i, err, rerr)
		}
		if d := diff(&back, &ref); d != "" {
			t.Fatalf("%d: unpacked: %s", i, d)
		}
	}
	if packed < n/10 {
		t.Errorf("only %d of %d fieldSets packed: the test is not testing packing", packed, n)
	}
}

// TestPackAllocs: packing allocates the result and nothing else, nothing
// at all into a slice with room; unpacking allocates one string, and one
// for each apart field.
func TestPackAllocs(t *testing.T) {
	for _, tt := range messageFieldSets(t) {
		buf := make([]byte, 0, 2048)
		if n := testing.AllocsPerRun(50, func() { _, _ = tt.f.appendPack(buf[:0]) }); n != 0 {
			t.Errorf("%s: appendPack into room: %v allocations", tt.name, n)
		}
		if n := testing.AllocsPerRun(50, func() { _, _ = tt.f.appendPack(nil) }); n > 1 {
			t.Errorf("%s: appendPack(nil): %v allocations", tt.name, n)
		}
		b, _ := tt.f.pack()
		want := 1.0
		for id, v := range tt.f.v {
			if apart(id) && v != "" {
				want++
			}
		}
		var f fieldSet
		if n := testing.AllocsPerRun(50, func() { _ = f.unpack(b) }); n > want {
			t.Errorf("%s: unpack: %v allocations, want %v", tt.name, n, want)
		}
	}
}

// TestUnpackKeepsCardDataApart: the value of a field that may carry
// sensitive authentication data (DE48 with the CVC2, track 2, PIN block,
// ICC data) shares no memory with the other values, which may be kept
// long after the answer.
func TestUnpackKeepsCardDataApart(t *testing.T) {
	f := fieldSet{mti: "0200"}
	for _, id := range specIDs {
		f.v[id] = strings.Repeat("7", formats[id].length)
	}
	b, err := f.pack()
	if err != nil {
		t.Fatal(err)
	}
	var got fieldSet
	if err := got.unpack(b); err != nil {
		t.Fatal(err)
	}
	// The memory each value takes, and the one string the others are in,
	// one after the other.
	type region struct{ lo, hi uintptr }
	of := func(v string) region {
		p := uintptr(unsafe.Pointer(unsafe.StringData(v)))
		return region{p, p + uintptr(len(v))}
	}
	overlap := func(a, b region) bool { return a.lo < b.hi && b.lo < a.hi }
	shared := of(got.mti)
	for id, v := range got.v {
		if v != "" && !apart(id) {
			r := of(v)
			if r.lo != shared.hi {
				t.Errorf("field %d is not next in the string the others are in", id)
			}
			shared.hi = r.hi
		}
	}
	for _, id := range []int{35, 48, 52, 55} {
		if !apart(id) || got.v[id] == "" {
			t.Fatalf("field %d: apart %v, %d bytes", id, apart(id), len(got.v[id]))
		}
		if overlap(of(got.v[id]), shared) {
			t.Errorf("field %d shares memory with the other values", id)
		}
		for _, other := range []int{35, 48, 52, 55} {
			if other != id && overlap(of(got.v[id]), of(got.v[other])) {
				t.Errorf("field %d shares memory with field %d", id, other)
			}
		}
	}
}

// fuzzIDs are the fields FuzzPack fills: those of Spec and a few it does
// not define.
var fuzzIDs = append(append([]int(nil), specIDs...), 5, 64, 65, 128)

// fieldsOf writes f as FuzzPack's arguments: which field each value goes
// to, and the values joined with '|'.
func fieldsOf(f *fieldSet) (sel []byte, data string) {
	var vals []string
	for i, id := range fuzzIDs {
		if v := f.v[id]; v != "" {
			sel = append(sel, byte(i))
			vals = append(vals, v)
		}
	}
	return sel, strings.Join(vals, "|")
}

// FuzzPack: any fieldSet packs as the library packs it, or fails as it
// fails; what packs unpacks as the library unpacks it.
func FuzzPack(f *testing.F) {
	for _, tt := range allFieldSets(f) {
		sel, data := fieldsOf(&tt.f)
		f.Add(tt.f.mti, sel, data)
	}
	f.Fuzz(func(t *testing.T, mti string, sel []byte, data string) {
		fs := fieldSet{mti: mti}
		for i, v := range strings.SplitN(data, "|", len(sel)+1) {
			if i < len(sel) {
				fs.v[fuzzIDs[int(sel[i])%len(fuzzIDs)]] = v
			}
		}
		want, werr := moovPack(&fs)
		got, err := fs.appendPack(nil)
		if (err == nil) != (werr == nil) {
			t.Fatalf("appendPack: %v, library: %v", err, werr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packed\n%q\nwant the library's\n%q", got, want)
		}
		var back fieldSet
		ref, rerr := moovUnpack(got)
		if err := back.unpack(got); (err == nil) != (rerr == nil) {
			t.Fatalf("unpack: %v, library: %v", err, rerr)
		}
		if d := diff(&back, &ref); d != "" {
			t.Fatalf("unpacked: %s", d)
		}
	})
}

// FuzzUnpack: any bytes unpack as the library unpacks them, or fail as it
// fails, and what unpacks packs again as the library packs it. The package's
// Unpack functions and Describe never panic on them.
func FuzzUnpack(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range allFieldSets(f) {
		if b, err := tt.f.pack(); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("0100"))
	f.Add([]byte("0100FFFFFFFFFFFFFFFF"))
	f.Add([]byte("0800" + "8000000000000000" + "8400000000000000" + "0000000000000000" + "301"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got fieldSet
		err := got.unpack(b)
		want, werr := moovUnpack(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("unpack: %v, library: %v", err, werr)
		}
		if err == nil {
			if d := diff(&got, &want); d != "" {
				t.Fatalf("unpacked: %s", d)
			}
			ours, err := got.appendPack(nil)
			ref, rerr := moovPack(&got)
			if (err == nil) != (rerr == nil) || !bytes.Equal(ours, ref) {
				t.Fatalf("packed again: %q, %v; library: %q, %v", ours, err, ref, rerr)
			}
		}

		if req, _, err := UnpackRequest(b); err == nil {
			// What unpacks is answered (or refused: a request may be
			// valid on the wire yet not packable, e.g. an odd RRN).
			_, _ = PackResponse(req, paygate.NetworkResponse{ResponseCode: "00"})
		}
		_, _, _, _ = UnpackResponse(b)
		_, _ = UnpackManagement(b)
		_ = Describe(b)
	})
}
