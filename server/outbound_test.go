package server

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every refused range is refused on the dialled address, and a public
// address is not.
func TestOutboundRefusesRanges(t *testing.T) {
	o, err := parseOutbound(OutboundConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{
		"127.0.0.1:80", "127.9.9.9:443", "[::1]:443", // loopback
		"10.1.2.3:443", "172.16.0.1:443", "172.31.255.255:443", "192.168.1.1:443", // RFC 1918
		"100.64.0.1:443", "100.127.255.254:443", // CGNAT
		"169.254.169.254:80", "169.254.1.1:443", "[fe80::1]:443", // link-local, cloud metadata
		"[fc00::1]:443", "[fd12:3456::1]:443", // unique local
		"0.0.0.0:443", "0.1.2.3:443", "[::]:443", // unspecified, "this network"
		"224.0.0.1:443", "239.1.1.1:443", "[ff02::1]:443", // multicast
		"[::ffff:127.0.0.1]:443", "[::ffff:169.254.169.254]:80", // mapped IPv4
		"255.255.255.255:443",
	} {
		if err := o.allowedAddr(addr); !errors.Is(err, errOutboundRefused) {
			t.Errorf("%s: %v, want refused", addr, err)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "[2606:2800:220:1:248:1893:25c8:1946]:443", "172.32.0.1:443", "100.128.0.1:443"} {
		if err := o.allowedAddr(addr); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
}

// The allowlist lets through exactly what it names: a host:port, or a CIDR.
func TestOutboundAllowlist(t *testing.T) {
	o, err := parseOutbound(OutboundConfig{Allow: []string{"127.0.0.1:8443", "10.0.0.0/8", "fd00::5"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:8443", "10.200.3.4:443", "[fd00::5]:443"} {
		if err := o.allowedAddr(addr); err != nil {
			t.Errorf("%s refused although allowed: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:8444", "192.168.0.1:443", "[fd00::6]:443"} {
		if err := o.allowedAddr(addr); !errors.Is(err, errOutboundRefused) {
			t.Errorf("%s: %v, want refused", addr, err)
		}
	}
	for _, bad := range []string{"not an address", "10.0.0.0/33", ":80"} {
		if _, err := parseOutbound(OutboundConfig{Allow: []string{bad}}); err == nil {
			t.Errorf("allowlist entry %q accepted", bad)
		}
	}
}

// checkURL: https by default; http only to a named target or when
// insecure; no other scheme, no credentials.
func TestOutboundCheckURL(t *testing.T) {
	strict, _ := parseOutbound(OutboundConfig{Allow: []string{"127.0.0.1:8443", "10.0.0.0/8"}})
	dev, _ := parseOutbound(OutboundConfig{InsecureHTTP: true})
	cases := []struct {
		url         string
		strict, dev bool
	}{
		{"https://agency.example/hook", true, true},
		{"http://agency.example/hook", false, true},
		{"http://127.0.0.1:8443/hook", true, true},
		{"http://127.0.0.1:8444/hook", false, true},
		{"http://10.1.2.3/hook", true, true},
		{"ftp://agency.example/hook", false, false},
		{"https://user:pw@agency.example/hook", false, false},
		{"https:///hook", false, false},
		{"agency.example/hook", false, false},
	}
	for _, c := range cases {
		if got := strict.checkURL(c.url) == nil; got != c.strict {
			t.Errorf("strict %q: accepted %v, want %v", c.url, got, c.strict)
		}
		if got := dev.checkURL(c.url) == nil; got != c.dev {
			t.Errorf("insecure %q: accepted %v, want %v", c.url, got, c.dev)
		}
	}
}

// hitServer counts the requests it gets.
func hitServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// The check runs at dial time on the resolved address: "localhost" is a
// name, which a URL check could not judge, and resolves to loopback.
func TestOutboundRefusedAtDial(t *testing.T) {
	ts, hits := hitServer(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	o, _ := parseOutbound(OutboundConfig{InsecureHTTP: true})
	c := o.client(5 * time.Second)
	for _, u := range []string{ts.URL, "http://localhost:" + port + "/"} {
		res, err := c.Get(u)
		if err == nil {
			res.Body.Close()
			t.Fatalf("%s: answered %d, want the connection refused", u, res.StatusCode)
		}
		if !errors.Is(err, errOutboundRefused) {
			t.Errorf("%s: %v, want errOutboundRefused", u, err)
		}
	}
	// Plain http is refused before dialling when not allowed.
	strict, _ := parseOutbound(OutboundConfig{})
	if res, err := strict.client(5 * time.Second).Get(ts.URL); err == nil || !strings.Contains(err.Error(), "want https") {
		if err == nil {
			res.Body.Close()
		}
		t.Errorf("http to loopback without allowance: %v", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the receiver got %d requests", hits.Load())
	}

	// Named by the allowlist, the same server answers.
	allowed, _ := parseOutbound(OutboundConfig{Allow: []string{"127.0.0.1:" + port}})
	res, err := allowed.client(5 * time.Second).Get(ts.URL)
	if err != nil {
		t.Fatalf("allowed target: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || hits.Load() != 1 {
		t.Errorf("allowed target: %d, %d hits", res.StatusCode, hits.Load())
	}
}

// A redirect is the answer: the client does not follow it, not even to an
// allowed address.
func TestOutboundNoRedirect(t *testing.T) {
	target, targetHits := hitServer(t, nil)
	from, _ := hitServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/inside", http.StatusFound)
	})
	o, _ := parseOutbound(OutboundConfig{Allow: []string{"127.0.0.0/8"}})
	req, _ := http.NewRequest(http.MethodPost, from.URL, strings.NewReader("{}"))
	res, err := o.client(5 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || targetHits.Load() != 0 {
		t.Errorf("redirect: status %d, target hit %d times; want 302 and none", res.StatusCode, targetHits.Load())
	}
	if loc, _ := url.Parse(res.Header.Get("Location")); loc == nil || loc.Path != "/inside" {
		t.Errorf("Location %q", res.Header.Get("Location"))
	}
}
