package tiles

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Origins taken from a style go into a Content-Security-Policy: only
// scheme://host[:port] passes, never a quote, space, semicolon or comma
// that would end the source or the directive.
func TestOriginOf(t *testing.T) {
	good := map[string]string{
		"https://tiles.example.org/{z}/{x}/{y}.pbf":          "https://tiles.example.org",
		"https://Fonts.Example.org:8443/{fontstack}/{range}": "https://fonts.example.org:8443",
		"http://[2001:db8::1]:8080/sprite":                   "http://[2001:db8::1]:8080",
		"https://a-b.example.org/x?key=1":                    "https://a-b.example.org",
	}
	for raw, want := range good {
		o, ok, err := OriginOf(raw)
		if err != nil || !ok || o != want {
			t.Errorf("%q: %q %v %v, want %q", raw, o, ok, err, want)
		}
	}
	for _, raw := range []string{"mapbox://styles/x", "/glyphs/{fontstack}", "sprites/x"} {
		if _, ok, err := OriginOf(raw); ok || err != nil {
			t.Errorf("%q: ok %v err %v, want nothing to allow", raw, ok, err)
		}
	}
	for _, raw := range []string{
		"https://evil.example;script-src *",
		"https://evil.example;script-src/x",
		"https://evil.example'unsafe-inline'/x",
		"https://evil.example,data:/x",
		"https://evil example/x",
		"https://user@tiles.example.org/x",
		"https://-bad.example/x",
		"https:///x",
		"https://tiles.example.org:99999999/x",
		"https://*.example.org/x",
	} {
		if _, _, err := OriginOf(raw); !errors.Is(err, ErrBadOrigin) {
			t.Errorf("%q: %v, want ErrBadOrigin", raw, err)
		}
	}
}

// A base style naming a bad origin is refused when fetched: FetchBaseStyle
// says so (the server then refuses to start) and BaseOrigins allows nothing
// from it.
func TestFetchBaseStyleRefusesBadOrigin(t *testing.T) {
	style := `{"version": 8, "glyphs": "https://fonts.example.org;script-src 'unsafe-inline'/{fontstack}/{range}.pbf", "sources": {}, "layers": []}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, style)
	}))
	defer ts.Close()
	s := New(nil, Options{BaseStyleURL: ts.URL + "/style.json"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := s.FetchBaseStyle(context.Background())
	if !errors.Is(err, ErrBadOrigin) {
		t.Fatalf("FetchBaseStyle: %v, want ErrBadOrigin", err)
	}
	for _, o := range s.BaseOrigins() {
		if strings.ContainsAny(o, "; '") {
			t.Errorf("origin %q allowed", o)
		}
	}

	style = `{"version": 8, "glyphs": "https://fonts.example.org/{fontstack}/{range}.pbf", "sources": {}, "layers": []}`
	ok := New(nil, Options{BaseStyleURL: ts.URL + "/style2.json"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ok.FetchBaseStyle(context.Background()); err != nil {
		t.Fatalf("good style: %v", err)
	}
	if got := strings.Join(ok.BaseOrigins(), " "); !strings.Contains(got, "https://fonts.example.org") {
		t.Errorf("origins %q", got)
	}
}
