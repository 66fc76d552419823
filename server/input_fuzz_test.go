package server

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// Fuzz targets of what the public and the experts send (go test -fuzz,
// docs/operations.md "Fuzzing"). The seeds below and the corpus committed
// in testdata/fuzz run with every go test; `make fuzz` runs each target
// for a while. The property everywhere: no panic, no 5xx, and bad input
// is a domain error (a 4xx naming the problem).

// fuzzEnv is a server on a fresh database for one fuzz target, and an
// expert's API token.
func fuzzEnv(f *testing.F) (*Server, string) {
	f.Helper()
	store := pgtest.NewStore(f)
	srv := New(Config{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	u, err := store.CreateUser(ctx, zoning.Origin{Actor: zoning.CLI()}, zoning.NewUser{Username: "fuzz-expert", Role: zoning.RoleExpert, DisplayName: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	tok, prefix, err := zoning.NewAPIToken()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := store.CreateAPIToken(ctx, zoning.Origin{Actor: zoning.CLI()}, u.ID, "fuzz", prefix, zoning.HashSecret(tok), nil); err != nil {
		f.Fatal(err)
	}
	return srv, tok
}

// serve sends one request to srv and returns the recorded answer.
func serve(srv *Server, method, path, rawQuery string, header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = path, "", rawQuery
	req.RequestURI = req.URL.RequestURI()
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}

// domainError fails unless err is nil or a domain error (answered 4xx).
func domainError(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && zoning.Kind(err) == nil {
		t.Fatalf("%s: not a domain error (would be a 500): %v", what, err)
	}
}

// GeoJSON geometry decoding and validation: CheckGeometryJSON refuses with
// ErrInvalid, or accepts a Polygon/MultiPolygon that an independent GeoJSON
// decoder reads with every position finite and in range and every ring
// closed with at least four positions.
func FuzzGeometryJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"Polygon","coordinates":[[[117,36],[117.001,36],[117.001,36.001],[117,36]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[117,36],[117.001,36],[117.001,36.001],[117,36]]],[[[1,1],[2,1],[2,2],[1,1]]]]}`,
		`{"type":"Polygon","coordinates":[[[181,36],[117.001,36],[117.001,36.001],[181,36]]]}`,
		`{"type":"Polygon","coordinates":[[[117,36],[117.001,36],[117,36]]]}`,
		`{"type":"Point","coordinates":[117,36]}`,
		`{"type":"Polygon","coordinates":[[[117,36],[117.001,36],[117.001,36.001],[117,36.5]]]}`,
		`{"type":"Polygon","crs":{"type":"name"},"coordinates":[]}`,
		`{"type":"Polygon","coordinates":[[[1e400,36],[0,0],[1,1],[1e400,36]]]}`,
		`{"type":"Polygon","coordinates":null}`, `[]`, `null`, `{`, ``, `{"type":"Polygon","coordinates":[[["a","b"]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := zoning.CheckGeometryJSON(raw)
		if err != nil {
			if zoning.Kind(err) != zoning.ErrInvalid {
				t.Fatalf("refusal is not ErrInvalid: %v", err)
			}
			return
		}
		g, gerr := geojson.UnmarshalGeometry(raw)
		if gerr != nil {
			t.Fatalf("accepted, but a GeoJSON decoder refuses it: %v", gerr)
		}
		var polys []orb.Polygon
		switch v := g.Geometry().(type) {
		case orb.Polygon:
			polys = []orb.Polygon{v}
		case orb.MultiPolygon:
			polys = v
		default:
			t.Fatalf("accepted a %T", v)
		}
		for _, p := range polys {
			for _, r := range p {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					t.Fatalf("accepted a ring of %d positions, closed %v", len(r), len(r) > 0 && r[0] == r[len(r)-1])
				}
				for _, pt := range r {
					if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || math.Abs(pt[0]) > 180 || math.Abs(pt[1]) > 90 {
						t.Fatalf("accepted position %v", pt)
					}
				}
			}
		}
	})
}

// Zone edit payloads: decoded and validated as the handlers do, and sent
// to the real handlers by an expert: never a 5xx.
func FuzzZoneEditPayload(f *testing.F) {
	srv, expert := fuzzEnv(f)
	poly := `{"type":"Polygon","coordinates":[[[117,36],[117.001,36],[117.001,36.001],[117,36]]]}`
	for _, s := range []struct{ body, ifMatch string }{
		{`{"version":1,"reason":"adjust to the river","geometry":` + poly + `}`, ``},
		{`{"reason":"x","geometry":` + poly + `}`, `"zone-1.v3"`},
		{`{"version":-1,"reason":"","geometry":{}}`, `*`},
		{`{"version":1,"reason":"r","add_buildings":[1,2],"remove_units":[3]}`, `W/"1"`},
		{`{"version":1e99}`, `"`},
		{`{"version":1,"reason":"r","geometry":` + poly + `,"extra":1}`, ``},
		{`{"reason":"` + strings.Repeat("长", 3000) + `"}`, ``},
		{`[1,2]`, ``}, {`{}`, ``}, {``, ``}, {`{"version":"1"}`, `"zone-1.v1", "zone-1.v2"`},
	} {
		f.Add(s.body, s.ifMatch)
	}
	f.Fuzz(func(t *testing.T, body, ifMatch string) {
		var ge zoning.GeometryEdit
		if err := decodeJSON([]byte(body), &ge); err != nil {
			domainError(t, "decode geometry edit", err)
		} else {
			domainError(t, "validate geometry edit", ge.Validate())
		}
		var me zoning.MembersEdit
		if err := decodeJSON([]byte(body), &me); err != nil {
			domainError(t, "decode members edit", err)
		} else {
			domainError(t, "validate members edit", me.Validate())
		}
		_, err := zoning.ParseIfMatch(ifMatch, 1)
		domainError(t, "If-Match", err)
		h := http.Header{"Authorization": {"Bearer " + expert}, "Content-Type": {"application/json"}}
		if ifMatch != "" && utf8.ValidString(ifMatch) && !strings.ContainsAny(ifMatch, "\r\n\x00") {
			h["If-Match"] = []string{ifMatch}
		}
		for _, r := range []struct{ method, path string }{
			{"PUT", "/api/v1/zones/999999/geometry"}, {"PATCH", "/api/v1/zones/999999/members"}, {"POST", "/api/v1/zones/999999/split"},
		} {
			if rec := serve(srv, r.method, r.path, "", h, body); rec.Code >= 500 {
				t.Fatalf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
			}
		}
	})
}

// Tile paths, version tags and conditional headers through the real routes
// (the warm path ahead of routing included): never a 5xx; a 200 is a tile
// or a JSON document.
func FuzzTilePath(f *testing.F) {
	srv, _ := fuzzEnv(f)
	for _, s := range []struct{ path, query, inm, ae string }{
		{"public/14/13482/6209.mvt", "", "", "gzip"},
		{"zones/14/13482/6209.mvt", "v=3", `"zones.3"`, ""},
		{"public/0/0/0.mvt", "v=1-2-3-4", "*", "gzip;q=0"},
		{"zones/25/1/1.mvt", "", "", ""}, {"zones/3/8/1.mvt", "", "", ""}, {"zones/-1/0/0.mvt", "", "", ""},
		{"zones/14/13482/6209.png", "", "", ""}, {"cases/14/1/1.mvt", "", "", ""}, {"public.json", "", "", ""},
		{"nope.json", "", "", ""}, {"zones/14/99999999999999999999/1.mvt", "v=--", "", ""},
		{"zones//1/1.mvt", "v=1&v=2", `W/"zones.1", "x"`, "br, gzip;q=0.5"},
	} {
		f.Add(s.path, s.query, s.inm, s.ae)
	}
	f.Fuzz(func(t *testing.T, path, query, inm, ae string) {
		h := http.Header{}
		if inm != "" {
			h["If-None-Match"] = []string{inm}
		}
		if ae != "" {
			h["Accept-Encoding"] = []string{ae}
		}
		rec := serve(srv, "GET", "/tiles/"+path, query, h, "")
		if rec.Code >= 500 || rec.Code == 0 {
			t.Fatalf("/tiles/%s?%s: %d %s", path, query, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			ct := rec.Header().Get("Content-Type")
			if ct != mvtContentType && !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("/tiles/%s: 200 with %q", path, ct)
			}
		}
		if rec := serve(srv, "GET", "/styles/"+path, query, h, ""); rec.Code >= 500 {
			t.Fatalf("/styles/%s: %d", path, rec.Code)
		}
	})
}

// Address search strings: parsed, answered against an index of zones, and
// sent to the lookup API and page: never a panic or a 5xx; the API's 200
// is JSON.
func FuzzAddressSearch(f *testing.F) {
	srv, _ := fuzzEnv(f)
	zones := lookuptest.GridZones(64)
	zones[0].Addresses = []zoning.Address{{District: "临河区", Street: "建设街道", Compound: "城建花园小区", Number: "73",
		BuildingID: 7, UnitNumber: 2, Unit: "二单元"}}
	ix := lookuptest.Index(f, lookuptest.Static{Zones: zones})
	for _, s := range []struct{ q, days string }{
		{"城建花园小区73号楼二单元", ""}, {"临河区建设街道城建花园小区73号楼", "14"}, {"７３＃", "60"},
		{"小区", "0"}, {"73", "61"}, {"城建花园小区73号楼九十九单元", ""}, {"区县市街道社区镇乡", ""},
		{"\xff\xfe", ""}, {strings.Repeat("1", 201), ""}, {"a\x00b", "x"}, {"", ""},
	} {
		f.Add(s.q, s.days)
	}
	now := time.Date(2022, 11, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q, days string) {
		a := ix.Answer(lookup.Query{Q: q}, now)
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("answer of %q does not encode: %v", q, err)
		}
		v := url.Values{"q": {q}}
		if days != "" {
			v.Set("days", days)
		}
		rec := serve(srv, "GET", "/api/v1/public/lookup", v.Encode(), nil, "")
		if rec.Code >= 500 {
			t.Fatalf("lookup %q: %d %s", q, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("lookup %q: 200 with invalid JSON", q)
		}
		if rec := serve(srv, "GET", "/lookup", v.Encode(), nil, ""); rec.Code >= 500 {
			t.Fatalf("lookup page %q: %d", q, rec.Code)
		}
	})
}

// xmlText reports whether every rune of s is a character XML 1.0 carries.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// visible is s without the characters XML cannot carry, ends trimmed.
func visible(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF {
			return r
		}
		return -1
	}, s))
}

// CAP and Atom text escaping: any headline, description, area name, note
// or entry text gives a well-formed document whose text reads back as
// written (less what XML cannot carry, and CAP's trimmed ends).
func FuzzCAPAtomText(f *testing.F) {
	for _, s := range []string{"h & <b>", "]]>", "line 1\nline 2\r\n", "\x00\x01\x1f", "\uFFFE\uFFFF", "城建花园小区73号楼二单元",
		"<![CDATA[x]]>", `"'&amp;`, "\xff\xfe", " trim me ", "&#0;", "\u2028\u2029"} {
		f.Add(s, s+"!")
	}
	sent := time.Date(2022, 11, 21, 10, 0, 0, 0, time.UTC)
	ring := [][2]float64{{117, 36}, {117.001, 36}, {117.001, 36.001}, {117, 36.001}, {117, 36}}
	f.Fuzz(func(t *testing.T, a, b string) {
		m := zoning.CAPMessage{Identifier: "riskzone-1-1-abcd", Sender: "riskzone@example.org", Sent: sent, Status: "Actual",
			MsgType: zoning.CAPAlert, Note: b, Effective: sent, Onset: sent, Expires: sent.Add(48 * time.Hour),
			Infos: []zoning.CAPInfo{{Language: "zh-CN", Event: "risk zones", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
				Headline: a, Description: b, Instruction: a, SenderName: b, Areas: []zoning.CAPArea{{Desc: a, Rings: [][][2]float64{ring}}}}}}
		doc, err := m.Marshal()
		if visible(a) == "" {
			if err == nil {
				t.Fatalf("CAP written with an area description %q that is empty as written", a)
			}
			return
		}
		if err != nil {
			t.Fatalf("CAP with text %q: %v", a, err)
		}
		var back struct {
			Note string `xml:"note"`
			Info struct {
				Headline    string `xml:"headline"`
				Description string `xml:"description"`
				Area        struct {
					Desc string `xml:"areaDesc"`
				} `xml:"area"`
			} `xml:"info"`
		}
		if err := xml.Unmarshal(doc, &back); err != nil {
			t.Fatalf("CAP with text %q is not well-formed: %v\n%s", a, err, doc)
		}
		if xmlText(a) && xmlText(b) {
			if back.Info.Headline != strings.TrimSpace(a) || back.Info.Area.Desc != strings.TrimSpace(a) || back.Info.Description != strings.TrimSpace(b) || back.Note != strings.TrimSpace(b) {
				t.Fatalf("CAP text changed: %q -> %q, %q -> %q", a, back.Info.Headline, b, back.Info.Description)
			}
		}
		feed := zoning.AtomFeed{ID: "urn:riskzone:notices", Title: a, Subtitle: b, Updated: sent, SelfURL: "http://x/notices.atom", Lang: "zh-CN",
			Entries: []zoning.AtomEntry{{ID: "urn:riskzone:notice:1", Title: a, Summary: b, Content: a + b, HTMLURL: "http://x/notices/1",
				CAPURL: "http://x/notices/1.cap", Published: sent, Updated: sent}}}
		if a == "" {
			return // a feed needs a title
		}
		adoc, err := feed.Marshal()
		if err != nil {
			t.Fatalf("Atom with title %q: %v", a, err)
		}
		var aback struct {
			Title string `xml:"title"`
			Entry struct {
				Title   string `xml:"title"`
				Summary string `xml:"summary"`
				Content string `xml:"content"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(adoc, &aback); err != nil {
			t.Fatalf("Atom with text %q is not well-formed: %v\n%s", a, err, adoc)
		}
		if xmlText(a) && xmlText(b) && (aback.Title != a || aback.Entry.Title != a || aback.Entry.Summary != strings.TrimSpace(b) || aback.Entry.Content != strings.TrimSpace(a+b)) {
			t.Fatalf("Atom text changed: %q -> %q", a, aback.Title)
		}
	})
}
