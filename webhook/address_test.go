package webhook_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/paygate/paygate/webhook"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		what string // "" : allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"0.0.0.0", "this network"},
		{"0.1.2.3", "this network"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "reserved"},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"ff02::1", "multicast"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.5", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"64:ff9b::10.0.0.5", "private"},
		{"64:ff9b::127.0.0.1", "loopback"},
		{"::a00:5", "IPv4-compatible"},                                // ::10.0.0.5, deprecated form
		{"::7f00:1", "IPv4-compatible"},                               // ::127.0.0.1
		{"::8.8.8.8", "IPv4-compatible"},                              // refused whatever it embeds
		{"::ffff:0:a00:5", "IPv4-translated"},                         // SIIT ::ffff:0:10.0.0.5
		{"2002:a00:5::1", "private address (10.0.0.5, in 6to4 form)"}, // 6to4 of 10.0.0.5
		{"2002:7f00:1::1", "loopback"},                                // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::", "link-local"},                            // 6to4 of 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:f5ff:fffa", "Teredo"},            // Teredo, embeds an obfuscated IPv4
		{"2001:2::1", "IETF protocol assignment"},                     // benchmarking 2001:2::/48
		{"2001:db8::1", "documentation"},                              // 2001:db8::/32
		{"3fff::1", "documentation"},                                  // 3fff::/20
		{"64:ff9b:1::a00:5", "local-use NAT64"},                       // 64:ff9b:1::/48
		{"64:ff9b:1:ffff::8.8.8.8", "local-use NAT64"},                // whatever it embeds
		{"100::1", "discard-only"},                                    // 100::/64
		{"5f00::1", "segment routing"},                                // 5f00::/16
		{"4000::1", "outside the IPv6 global unicast space"},          // unallocated, not in 2000::/3
		{"198.18.0.1", "benchmarking"},                                // 198.18.0.0/15
		{"198.19.255.255", "benchmarking"},
		{"192.0.0.170", "IETF protocol assignment"}, // 192.0.0.0/24, NAT64 discovery among them
		{"192.0.2.1", "documentation"},              // TEST-NET-1
		{"198.51.100.7", "documentation"},           // TEST-NET-2
		{"203.0.113.200", "documentation"},          // TEST-NET-3
		{"192.88.99.1", "6to4 relay"},               // deprecated anycast
		{"::ffff:198.18.0.1", "benchmarking"},       // mapped forms check what they map
		{"64:ff9b::192.0.2.1", "documentation"},

		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.15.255.255", ""},
		{"172.32.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.1", ""},
		{"169.253.0.1", ""},
		{"192.169.0.1", ""},
		{"11.0.0.1", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::8.8.8.8", ""},
		{"2002:808:808::1", ""},          // 6to4 of a public address
		{"2a00:1450:4001:80b::200e", ""}, // an ordinary public IPv6 address
		{"198.17.255.255", ""},           // just below 198.18.0.0/15
		{"198.20.0.1", ""},               // just above it
		{"192.0.1.1", ""},                // between 192.0.0.0/24 and 192.0.2.0/24
		{"203.0.114.1", ""},              // just above TEST-NET-3
		{"2001:200::1", ""},              // 2001::/23 ends at 2001:1ff:...
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			err := webhook.CheckAddr(a)
			if tt.what == "" {
				if err != nil {
					t.Fatalf("got %v, want allowed", err)
				}
				return
			}
			var ae *webhook.AddrError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *AddrError", err)
			}
			if !strings.HasPrefix(err.Error(), "refused: "+a.String()+" is ") || !strings.Contains(err.Error(), tt.what) {
				t.Errorf("got %q, want \"refused: %s is ...%s...\"", err, a, tt.what)
			}
		})
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	if err := webhook.CheckAddr(netip.Addr{}); err == nil {
		t.Error("got nil for the zero Addr, want an error")
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct {
		host string
		want string // "": allowed
	}{
		{"127.0.0.1", "refused: 127.0.0.1 is a loopback address"},
		{"[::1]", "refused: ::1 is a loopback address"},
		{"::1", "refused: ::1 is a loopback address"},
		{"localhost", "is a loopback address"}, // from /etc/hosts: no DNS query
		{"10.0.0.5", "refused: 10.0.0.5 is a private address"},
		{"169.254.169.254", "refused: 169.254.169.254 is a link-local address"},
		{"[fd00::1]", "refused: fd00::1 is a private address"},
		{"", "no host given"},
		{"8.8.8.8", ""},
		{"[2001:4860:4860::8888]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := webhook.CheckHost(context.Background(), tt.host)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want allowed", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
