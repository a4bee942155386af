package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// The addresses the gateway never connects to on a merchant's behalf: this
// machine, private networks and the cloud's metadata service would
// otherwise be reachable by anyone who can set a merchant's URL (SSRF).
var refused = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (\"this network\")"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata services live there)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"}, // 255.255.255.255, broadcast, among them
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a private address"}, // site-local, deprecated but routable on some networks
	{netip.MustParsePrefix("fc00::/7"), "a private address"},  // unique local
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): on a network with NAT64,
// 64:ff9b::10.0.0.5 reaches 10.0.0.5.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// AddrError refuses a connection to an address that is not on the public
// internet.
type AddrError struct {
	Addr netip.Addr
	What string // such as "a private address"
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("refused: %s is %s", e.Addr, e.What)
}

// CheckAddr returns an *AddrError if a is an address the gateway must not
// connect to for a merchant: loopback, private, link-local (metadata),
// shared (CGNAT), "this network", multicast, reserved or unspecified, in
// IPv4, IPv6, or IPv4 written as IPv6 (::ffff:10.0.0.5, 64:ff9b::10.0.0.5).
func CheckAddr(a netip.Addr) error {
	orig := a
	a = a.WithZone("").Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() {
		return &AddrError{Addr: orig, What: "not an IP address"}
	}
	for _, r := range refused {
		if r.prefix.Contains(a) {
			return &AddrError{Addr: orig, What: r.what}
		}
	}
	return nil
}

// resolveTimeout bounds CheckHost's lookup.
const resolveTimeout = 5 * time.Second

// CheckHost resolves host (a name, or an IP address, bracketed or not) and
// returns an error if it has no address or any of its addresses is one
// CheckAddr refuses (an *AddrError). It checks a merchant's URL when it is
// registered, so that a bad one is refused at once rather than failing
// every delivery; the dialer checks again when connecting, since a name
// may later resolve elsewhere. Its errors are for the merchant to read:
// "refused: 10.0.0.5 is a private address", "no address found for
// shop.example".
func CheckHost(ctx context.Context, host string) error {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return errors.New("no host given")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return CheckAddr(a)
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("no address found for %s", host)
	}
	for _, a := range addrs {
		if err := CheckAddr(a); err != nil {
			return err
		}
	}
	return nil
}
