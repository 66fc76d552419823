package tiles

import (
	"strings"
	"testing"
)

// FuzzOriginOf: whatever a style names, an accepted origin holds nothing
// that could end a CSP source or directive.
func FuzzOriginOf(f *testing.F) {
	for _, s := range []string{"https://tiles.example.org/{z}/{x}/{y}.pbf", "https://evil.example;script-src *", "mapbox://x", "http://[::1]:80/", "https://a'b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, ok, err := OriginOf(s)
		if err != nil || !ok {
			return
		}
		if strings.ContainsAny(o, " ;,'\"\t\r\n*") || strings.Count(o, "/") != 2 {
			t.Fatalf("%q gave origin %q", s, o)
		}
	})
}
