package iso8583

import (
	"testing"

	"github.com/paygate/paygate"
)

// The benchmarks of a sale's four messages: each runs the package's code
// (ours) and the same with the library packing or unpacking the fieldSet
// (moov), as the package did before pack.go, so that one run shows the
// ratio.

var benchResponse = paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3"}

func BenchmarkPackRequest(b *testing.B) {
	req := testRequest(paygate.NetworkSale)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := PackRequest(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f fieldSet
			if err := f.request(req); err != nil {
				b.Fatal(err)
			}
			if _, err := moovPack(&f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnpackRequest(b *testing.B) {
	msg, err := PackRequest(testRequest(paygate.NetworkSale))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := UnpackRequest(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := moovUnpack(msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := f.networkRequest(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPackResponse(b *testing.B) {
	req := testRequest(paygate.NetworkSale)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := PackResponse(req, benchResponse); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f fieldSet
			if err := f.response(req, benchResponse); err != nil {
				b.Fatal(err)
			}
			if _, err := moovPack(&f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnpackResponse(b *testing.B) {
	msg, err := PackResponse(testRequest(paygate.NetworkSale), benchResponse)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := UnpackResponse(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := moovUnpack(msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err := f.networkResponse(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCodec packs and unpacks the fieldSet of a sale alone, without
// filling it or reading it.
func BenchmarkCodec(b *testing.B) {
	var f fieldSet
	if err := f.request(testRequest(paygate.NetworkSale)); err != nil {
		b.Fatal(err)
	}
	msg, err := f.pack()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("pack/ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.appendPack(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pack/moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := moovPack(&f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unpack/ours", func(b *testing.B) {
		b.ReportAllocs()
		var g fieldSet
		for b.Loop() {
			if err := g.unpack(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unpack/moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := moovUnpack(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
