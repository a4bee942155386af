package iso8583_test

import (
	"testing"

	moov "github.com/moov-io/iso8583"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

// A mail/telephone order says so on the wire: DE22 manual key entry, DE25
// 08; e-commerce says 810 and 59. Every message of a payment carries its
// channel, and the receiving side reads it back.
func TestChannelOnTheWire(t *testing.T) {
	tests := []struct {
		channel    paygate.Channel
		de22, de25 string
		unpackedAs paygate.Channel
	}{
		{"", "810", "59", paygate.ChannelEcommerce},
		{paygate.ChannelEcommerce, "810", "59", paygate.ChannelEcommerce},
		{paygate.ChannelMOTO, "012", "08", paygate.ChannelMOTO},
	}
	for _, tt := range tests {
		for _, k := range []paygate.NetworkKind{paygate.NetworkAuthorize, paygate.NetworkSale, paygate.NetworkCapture, paygate.NetworkReverse, paygate.NetworkRefund} {
			req := request(k)
			req.Channel = tt.channel
			b, err := iso8583.PackRequest(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.channel, k, err)
			}
			m := moov.NewMessage(iso8583.Spec)
			if err := m.Unpack(b); err != nil {
				t.Fatal(err)
			}
			de22, _ := m.GetString(22)
			de25, _ := m.GetString(25)
			if de22 != tt.de22 || de25 != tt.de25 {
				t.Errorf("%q %s: DE22 %q DE25 %q, want %q %q", tt.channel, k, de22, de25, tt.de22, tt.de25)
			}
			got, _, err := iso8583.UnpackRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Channel != tt.unpackedAs {
				t.Errorf("%q %s: unpacked channel %q, want %q", tt.channel, k, got.Channel, tt.unpackedAs)
			}
		}
	}
}
