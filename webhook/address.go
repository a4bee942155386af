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

// An address the gateway connects to on a merchant's behalf must be on the
// public internet: this machine, private networks and the cloud's metadata
// service would otherwise be reachable by anyone who can set a merchant's
// URL (SSRF). The rule is an allow-list: an address is allowed only if it
// is global unicast, not private, and in none of the special-purpose
// ranges below (the IANA IPv4 and IPv6 Special-Purpose Address Registries,
// with multicast and the reserved blocks); an IPv6 address must moreover
// be in 2000::/3, the only space IANA allocates for global unicast.
// Forms that carry an IPv4 address inside an IPv6 one and reach it
// (IPv4-mapped, NAT64 64:ff9b::/96, 6to4) are judged by the IPv4 address
// they carry.
var special = []struct {
	prefix netip.Prefix
	what   string
}{
	// IPv4
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (\"this network\")"},                                // RFC 791
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},                                             // RFC 1918
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},                       // RFC 6598
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},                                           // RFC 1122
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata services live there)"}, // RFC 3927
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},                                          // RFC 1918
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"},                  // RFC 6890: DS-Lite, NAT64 discovery, ...
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address (TEST-NET-1)"},                        // RFC 5737
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address (deprecated)"},                 // RFC 7526
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},                                         // RFC 1918
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},                                     // RFC 2544
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address (TEST-NET-2)"},                     // RFC 5737
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address (TEST-NET-3)"},                      // RFC 5737
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},                                          // RFC 5771
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},                                           // RFC 1112; 255.255.255.255, broadcast, among them
	// IPv6 (::ffff:0:0/96, IPv4-mapped, 64:ff9b::/96, NAT64, and 2002::/16,
	// 6to4, are judged by the IPv4 address they carry: see embeddedIPv4)
	{netip.MustParsePrefix("::/128"), "the unspecified address"},                    // RFC 4291
	{netip.MustParsePrefix("::1/128"), "a loopback address"},                        // RFC 4291
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address (deprecated)"},     // RFC 4291 2.5.5.1
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated (SIIT) address"}, // RFC 2765
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},          // RFC 8215: a network's own translator
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},                   // RFC 6666
	{netip.MustParsePrefix("100:0:0:1::/64"), "a dummy address"},                    // RFC 9780
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},                        // RFC 4380: tunnels to an IPv4 address
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment (2001::/23)"}, // RFC 2928: benchmarking, ORCHID, ...
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},             // RFC 3849
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},                 // RFC 9637
	{netip.MustParsePrefix("5f00::/16"), "a segment routing address"},               // RFC 9602
	{netip.MustParsePrefix("fc00::/7"), "a private address"},                        // RFC 4193, unique local
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},                    // RFC 4291
	{netip.MustParsePrefix("fec0::/10"), "a private address"},                       // RFC 3879: site-local, deprecated but routed on some networks
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},                      // RFC 4291
}

// globalUnicast6 is the IPv6 space IANA allocates for global unicast.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// The IPv6 forms that carry an IPv4 address at a fixed place and reach it.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: on a network with NAT64, 64:ff9b::10.0.0.5 reaches 10.0.0.5
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: 2002:a00:5::/48 is the network behind 10.0.0.5
)

// embeddedIPv4 returns the IPv4 address an IPv6 address carries and reaches,
// and the name of its form.
func embeddedIPv4(a netip.Addr) (netip.Addr, string, bool) {
	b := a.As16()
	switch {
	case a.Is4In6():
		return a.Unmap(), "IPv4-mapped", true
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	}
	return a, "", false
}

// AddrError refuses a connection to an address that is not on the public
// internet.
type AddrError struct {
	Addr netip.Addr
	What string // such as "a private address"
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("refused: %s is %s", e.Addr, e.What)
}

// CheckAddr returns an *AddrError unless a is a public address the gateway
// may connect to for a merchant: global unicast, not private, and in none
// of the special-purpose ranges (loopback, link-local and metadata, shared
// CGNAT, "this network", documentation, benchmarking, multicast, reserved,
// discard, Teredo, local NAT64, ...), in IPv4, IPv6 (where only 2000::/3 is
// allowed), or IPv4 carried in IPv6 (::ffff:10.0.0.5, 64:ff9b::10.0.0.5,
// 2002:a00:5::1), which is judged by the IPv4 address it carries.
func CheckAddr(a netip.Addr) error {
	orig := a
	a = a.WithZone("")
	if !a.IsValid() {
		return &AddrError{Addr: orig, What: "not an IP address"}
	}
	note := ""
	if v4, form, ok := embeddedIPv4(a); ok {
		a, note = v4, fmt.Sprintf(" (%s, in %s form)", v4, form)
	}
	for _, r := range special {
		if r.prefix.Contains(a) {
			return &AddrError{Addr: orig, What: r.what + note}
		}
	}
	switch {
	case a.Is6() && !globalUnicast6.Contains(a):
		return &AddrError{Addr: orig, What: "outside the IPv6 global unicast space (2000::/3)"}
	case !a.IsGlobalUnicast() || a.IsPrivate(): // what the table above already refuses, kept as a backstop
		return &AddrError{Addr: orig, What: "not a public address" + note}
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
