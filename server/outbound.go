package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Outbound requests (webhook deliveries, the base style) go to addresses an
// admin typed in, so they are a way into the service's own network (SSRF):
// a subscriber URL naming 127.0.0.1:5432 or the cloud metadata service
// 169.254.169.254 would have the server post to it. Every outbound
// connection is therefore checked where it is made, on the address the
// name resolved to (a name that resolves to a public address when the URL
// is checked and to a private one at delivery cannot slip through), and
// redirects are not followed (a public receiver cannot bounce the request
// inward). Plain http is refused unless the allowlist names the target or
// the service runs with --insecure-dev.

// OutboundConfig says where outbound requests may go besides the public
// internet over https.
type OutboundConfig struct {
	// Allow names targets the range check lets through: "host:port" (an
	// exact dial address, e.g. 127.0.0.1:8443) or an address or CIDR (e.g.
	// 10.0.0.0/8). An allowed target may also be reached over plain http.
	Allow []string
	// InsecureHTTP lets plain http through to any (public) target; set by
	// --insecure-dev.
	InsecureHTTP bool
}

// outbound is a parsed OutboundConfig.
type outbound struct {
	prefixes []netip.Prefix
	hostPort map[string]bool // exact "host:port" entries, as typed and as dialled
	http     bool
}

// parseOutbound reads the allowlist.
func parseOutbound(cfg OutboundConfig) (*outbound, error) {
	o := &outbound{hostPort: map[string]bool{}, http: cfg.InsecureHTTP}
	for _, raw := range cfg.Allow {
		a := strings.TrimSpace(raw)
		if a == "" {
			continue
		}
		if p, err := netip.ParsePrefix(a); err == nil {
			o.prefixes = append(o.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			o.prefixes = append(o.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("outbound allowlist entry %q: want host:port, an address or a CIDR", raw)
		}
		o.hostPort[strings.ToLower(net.JoinHostPort(host, port))] = true
	}
	return o, nil
}

// refusedRanges are the addresses an outbound connection may not reach
// unless allowed: this host, private networks, link-local (with the cloud
// metadata service), shared address space, multicast and the like.
var refusedRanges = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
		"100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "64:ff9b::/96",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// errOutboundRefused marks a connection the range check refused.
var errOutboundRefused = errors.New("outbound address refused")

// allowedAddr reports whether a connection to addr ("ip:port", as dialled)
// may be made.
func (o *outbound) allowedAddr(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q is not an address", errOutboundRefused, addr)
	}
	ip := ap.Addr().Unmap()
	if o.hostPort[strings.ToLower(netip.AddrPortFrom(ip, ap.Port()).String())] {
		return nil
	}
	for _, p := range o.prefixes {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, p := range refusedRanges {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in %s (loopback, private, link-local or reserved; allow it with --outbound-allow)", errOutboundRefused, ip, p)
		}
	}
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return fmt.Errorf("%w: %s (allow it with --outbound-allow)", errOutboundRefused, ip)
	}
	return nil
}

// checkURL reports whether a URL may be requested: absolute, with a host,
// https unless the allowlist names the target or plain http is allowed.
// Addresses are checked when dialled, not here.
func (o *outbound) checkURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("url %q: want an absolute https URL", raw)
	}
	if u.User != nil {
		return fmt.Errorf("url %q: credentials in a URL are not accepted", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if o.http || o.names(u) {
			return nil
		}
		return fmt.Errorf("url %q: want https (plain http only to a target named by --outbound-allow, or with --insecure-dev)", raw)
	}
	return fmt.Errorf("url %q: want an https URL", raw)
}

// names reports whether the allowlist names the URL's target.
func (o *outbound) names(u *url.URL) bool {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if o.hostPort[strings.ToLower(net.JoinHostPort(u.Hostname(), port))] {
		return true
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		for _, p := range o.prefixes {
			if p.Contains(ip.Unmap()) {
				return true
			}
		}
	}
	return false
}

// client is an HTTP client whose connections go only where allowed, that
// follows no redirect (a 3xx is the answer) and takes no proxy from the
// environment (a proxy would dial for it, past the check).
func (o *outbound) client(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return o.allowedAddr(address)
		},
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &schemeCheck{o: o, next: tr},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not a place to go
		},
	}
}

// schemeCheck refuses, before any connection, a request checkURL refuses.
type schemeCheck struct {
	o    *outbound
	next http.RoundTripper
}

func (s *schemeCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := s.o.checkURL(r.URL.String()); err != nil {
		return nil, err
	}
	return s.next.RoundTrip(r)
}
