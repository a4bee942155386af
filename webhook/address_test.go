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
