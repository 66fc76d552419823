package server

import (
	"net/netip"
	"testing"
)

// FuzzOutboundCheck: the URL check and the dial check never panic, and an
// address in a refused range is never allowed without an allowlist.
func FuzzOutboundCheck(f *testing.F) {
	for _, s := range []string{"https://agency.example/hook", "http://127.0.0.1:8080/x", "https://[::1]:443/", "169.254.169.254:80", "[fe80::1%eth0]:443", "https://u:p@x/", "ftp://x", ""} {
		f.Add(s)
	}
	o, err := parseOutbound(OutboundConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = o.checkURL(s)
		err := o.allowedAddr(s)
		if ap, perr := netip.ParseAddrPort(s); perr == nil && err == nil {
			for _, p := range refusedRanges {
				if p.Contains(ap.Addr().Unmap()) {
					t.Fatalf("%s allowed although in %s", s, p)
				}
			}
		}
	})
}
