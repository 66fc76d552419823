package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The expert app is served under /app/: index.html for client routes (never
// cached, with a CSP), hashed assets cached for a year, 404 for missing
// files.
func TestAppServing(t *testing.T) {
	fsys := appFS()
	if fsys == nil {
		t.Fatal("the expert app is not built into web/dist/app: run make web, then test again")
	}
	var asset string
	_ = fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			asset = p
		}
		return nil
	})
	if asset == "" {
		t.Fatal("no JavaScript asset in web/dist/app/assets")
	}
	e := newTestEnv(t, Config{}, nil)
	noRedirect := *e.ts.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noRedirect.Get(e.ts.URL + "/app")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/app/" {
		t.Errorf("/app: %d to %q, want 301 to /app/", res.StatusCode, res.Header.Get("Location"))
	}
	for _, p := range []string{"/app/", "/app/zones/12", "/app/proposals/run/3"} {
		r := e.do(request{method: "GET", path: p}).expect(t, http.StatusOK, p)
		if !strings.Contains(string(r.body), `<div id="app">`) || !strings.Contains(string(r.body), "/app/assets/") {
			t.Errorf("%s: not the app's index.html: %.200s", p, r.body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", p, cc)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
	r := e.do(request{method: "GET", path: "/app/" + asset}).expect(t, http.StatusOK, asset)
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("%s: Cache-Control %q, want a year, immutable", asset, cc)
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("%s: Content-Type %q", asset, ct)
	}
	raw, err := fs.ReadFile(fsys, asset)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Content-Encoding") != "" || !bytes.Equal(r.body, raw) {
		t.Errorf("%s without Accept-Encoding: encoding %q, %d bytes, want the file's %d", asset, r.Header.Get("Content-Encoding"), len(r.body), len(raw))
	}
	// Gzipped once, from memory: the same bytes every time, which unpack
	// to the file.
	var zipped []byte
	for i := 0; i < 2; i++ {
		r = e.do(request{method: "GET", path: "/app/" + asset, header: map[string]string{"Accept-Encoding": "gzip"}})
		if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
			t.Fatalf("%s for a client that accepts gzip: %v", asset, r.Header)
		}
		if r.Header.Get("Content-Length") != strconv.Itoa(len(r.body)) || len(r.body) >= len(raw)/2 {
			t.Fatalf("%s gzipped: Content-Length %q, %d bytes of %d", asset, r.Header.Get("Content-Length"), len(r.body), len(raw))
		}
		if zipped != nil && !bytes.Equal(zipped, r.body) {
			t.Fatal("the gzipped asset changed between requests")
		}
		zipped = r.body
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	if unpacked, err := io.ReadAll(zr); err != nil || !bytes.Equal(unpacked, raw) {
		t.Fatalf("%s: the gzip answer does not unpack to the file (%v, %d bytes of %d)", asset, err, len(unpacked), len(raw))
	}
	// Client routes get index.html compressed on the fly.
	if r := e.do(request{method: "GET", path: "/app/zones/12", header: map[string]string{"Accept-Encoding": "gzip"}}); r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("index.html for a client that accepts gzip: %v", r.Header)
	}
	if r := e.do(request{method: "HEAD", path: "/app/" + asset}); r.StatusCode != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD %s: %d with %d bytes", asset, r.StatusCode, len(r.body))
	}
	e.do(request{method: "GET", path: "/app/assets/missing-0000.js"}).expectError(t, http.StatusNotFound, "no file", "missing asset")
	e.do(request{method: "GET", path: "/app/logo.png"}).expectError(t, http.StatusNotFound, "no file", "missing file")
}

// The app's JSON helpers on the demo story: who may call them, what they
// answer, and clear 4xx errors for bad input.
func TestAppAPI(t *testing.T) {
	e := newPublicEnv(t)
	county := e.sum.CountyID
	e.addUser("ex", zoning.RoleExpert, "pw-expert-1")
	e.addUser("pub", zoning.RolePublisher, "pw-publisher-1")
	ex := e.login("ex", "pw-expert-1")
	pub := e.login("pub", "pw-publisher-1")
	get := func(s *session, path string, status int) response {
		t.Helper()
		r := request{method: "GET", path: path}
		if s != nil {
			r.cookie = s.cookie
		}
		return e.do(r).expect(t, status, "GET "+path)
	}

	get(nil, "/api/v1/app/counties", http.StatusUnauthorized)
	var cs struct {
		Counties []postgis.AppCounty `json:"counties"`
	}
	get(&pub, "/api/v1/app/counties", http.StatusOK).decode(t, &cs)
	if len(cs.Counties) != 1 || cs.Counties[0].ID != county || cs.Counties[0].Name != e.sum.County {
		t.Fatalf("counties %+v, want the demo county %d %s", cs.Counties, county, e.sum.County)
	}
	if b := cs.Counties[0].BBox; !(b[0] < b[2] && b[1] < b[3] && b[0] > 70 && b[2] < 140) {
		t.Errorf("county bbox %v", b)
	}

	// Proposals: experts only; the story's fresh ones wait for review.
	get(&pub, fmt.Sprintf("/api/v1/app/proposals?county=%d", county), http.StatusForbidden)
	var ps struct {
		Proposals []postgis.AppProposal `json:"proposals"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/proposals?county=%d", county), http.StatusOK).decode(t, &ps)
	if len(ps.Proposals) != e.story.FreshProposals || len(ps.Proposals) == 0 {
		t.Fatalf("%d proposals waiting, want the story's %d", len(ps.Proposals), e.story.FreshProposals)
	}
	for i, p := range ps.Proposals {
		if p.Status != "proposed" || p.CountyID != county || p.Buildings != len(p.BuildingIDs) || p.CreatedBy != "demo.proposer" {
			t.Errorf("proposal %+v", p)
		}
		// Staff for the residents and the day-time workers of traced places (issue 17).
		if want := (p.Population + p.Workers + 9) / 10; p.StaffRequired != want {
			t.Errorf("proposal %d: staff %d for %d people and %d workers, want %d", p.ID, p.StaffRequired, p.Population, p.Workers, want)
		}
		if len(p.RationaleText.Zh) == 0 || len(p.RationaleText.Zh) != len(p.RationaleText.En) {
			t.Errorf("proposal %d: rationale sentences %+v", p.ID, p.RationaleText)
		}
		if i > 0 && ps.Proposals[i-1].RunID == p.RunID && ps.Proposals[i-1].Population < p.Population {
			t.Errorf("proposals of a run not by population, largest first")
		}
		if !strings.Contains(string(p.Geometry), `"coordinates"`) {
			t.Errorf("proposal %d has no geometry", p.ID)
		}
	}
	get(&ex, "/api/v1/app/proposals", http.StatusBadRequest)
	get(&ex, fmt.Sprintf("/api/v1/app/proposals?county=%d&status=maybe", county), http.StatusBadRequest)
	var all struct {
		Proposals []postgis.AppProposal `json:"proposals"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/proposals?county=%d&status=all", county), http.StatusOK).decode(t, &all)
	if len(all.Proposals) != e.story.FreshProposals+e.story.Proposals {
		t.Errorf("%d proposals in all, want %d fresh + %d decided", len(all.Proposals), e.story.FreshProposals, e.story.Proposals)
	}
	var runs struct {
		Runs []struct {
			ID        int64 `json:"id"`
			Proposals int   `json:"proposals"`
			Open      int   `json:"open"`
		} `json:"runs"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/runs?county=%d", county), http.StatusOK).decode(t, &runs)
	if len(runs.Runs) != 2 || runs.Runs[0].Open != e.story.FreshProposals || runs.Runs[1].Open != 0 {
		t.Errorf("runs %+v", runs.Runs)
	}

	// The barriers on a proposal's boundary, as GeoJSON.
	var withBarriers *postgis.AppProposal
	for i, p := range ps.Proposals {
		if len(p.BoundaryBarriers) > 2 {
			withBarriers = &ps.Proposals[i]
			break
		}
	}
	if withBarriers == nil {
		// Issue 17: the story's fresh proposals stay within the enlargement
		// bounds (case buildings and their neighbours); an expert enlarges
		// one a level, to a compound or block whose boundary has barriers.
		for _, p := range ps.Proposals {
			if !strings.Contains(string(p.Rationale), `"enlargements"`) {
				continue
			}
			id := p.ID
			for step := 0; step < 3 && withBarriers == nil; step++ {
				var stepped struct {
					Proposals []struct {
						ID int64 `json:"id"`
					} `json:"proposals"`
				}
				e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/enlarge", id), cookie: ex.cookie, csrf: ex.csrf}).
					expect(t, http.StatusOK, "enlarge a fresh proposal").decode(t, &stepped)
				if len(stepped.Proposals) == 0 {
					t.Fatal("enlarge answered no proposal")
				}
				id = stepped.Proposals[0].ID
				var again struct {
					Proposals []postgis.AppProposal `json:"proposals"`
				}
				get(&ex, fmt.Sprintf("/api/v1/app/proposals?county=%d", county), http.StatusOK).decode(t, &again)
				for i, q := range again.Proposals {
					if q.ID == id && len(q.BoundaryBarriers) > 2 {
						withBarriers = &again.Proposals[i]
					}
				}
			}
			break
		}
	}
	if withBarriers == nil {
		t.Fatal("no fresh proposal has boundary barriers")
	}
	var refs []zoning.BarrierRef
	if err := json.Unmarshal(withBarriers.BoundaryBarriers, &refs); err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			ID       int64          `json:"id"`
			Geometry map[string]any `json:"geometry"`
		} `json:"features"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/proposals/%d/barriers", withBarriers.ID), http.StatusOK).decode(t, &fc)
	if len(fc.Features) != len(refs) {
		t.Errorf("%d barrier features for %d boundary barriers", len(fc.Features), len(refs))
	}
	want := map[int64]bool{}
	for _, r := range refs {
		want[r.ID] = true
	}
	for _, f := range fc.Features {
		if !want[f.ID] || f.Geometry["type"] == nil {
			t.Errorf("barrier feature %d not on the boundary, or without geometry", f.ID)
		}
	}
	get(&ex, "/api/v1/app/proposals/999999/barriers", http.StatusNotFound)

	// Buildings by id and by address.
	ids := ps.Proposals[0].BuildingIDs
	var bs struct {
		Features []struct {
			ID         int64          `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	get(&pub, fmt.Sprintf("/api/v1/app/buildings?ids=%d,%d", ids[0], ids[len(ids)-1]), http.StatusOK).decode(t, &bs)
	if len(bs.Features) != min(2, len(ids)) && !(len(ids) == 1 && len(bs.Features) == 1) {
		t.Errorf("%d buildings for 2 ids", len(bs.Features))
	}
	get(&ex, "/api/v1/app/buildings?ids=1,x", http.StatusBadRequest)
	get(&ex, "/api/v1/app/buildings", http.StatusBadRequest)
	get(&ex, "/api/v1/app/buildings/99999999", http.StatusNotFound)
	var one struct {
		ID         int64          `json:"id"`
		Properties map[string]any `json:"properties"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/buildings/%d", ids[0]), http.StatusOK).decode(t, &one)
	compound, _ := one.Properties["compound"].(string)
	number, _ := one.Properties["number"].(string)
	if one.ID != ids[0] || compound == "" || number == "" {
		t.Fatalf("building %d: %+v", ids[0], one)
	}
	var found struct {
		Features []struct {
			ID int64 `json:"id"`
		} `json:"features"`
	}
	get(&ex, fmt.Sprintf("/api/v1/app/search?county=%d&q=%s", county, url.QueryEscape(compound+number+"号楼")), http.StatusOK).decode(t, &found)
	if len(found.Features) == 0 || found.Features[0].ID != ids[0] {
		t.Errorf("search %s%s号楼: %+v, want building %d first", compound, number, found.Features, ids[0])
	}
	get(&ex, "/api/v1/app/search?q=", http.StatusBadRequest)
	get(&ex, "/api/v1/app/search?q="+strings.Repeat("x", 101), http.StatusBadRequest)
	var none struct {
		Features []any `json:"features"`
	}
	get(&ex, "/api/v1/app/search?q="+url.QueryEscape("no such place 100%_"), http.StatusOK).decode(t, &none)
	if len(none.Features) != 0 {
		t.Errorf("search for nothing found %d", len(none.Features))
	}

	// Notice preview: publishers only; shows what publishing would write,
	// with its CAP and Atom, and writes nothing.
	get(&ex, fmt.Sprintf("/api/v1/app/notice-preview?county=%d", county), http.StatusForbidden)
	get(&pub, "/api/v1/app/notice-preview", http.StatusBadRequest)
	var pv struct {
		Notices []struct {
			TitleZh string `json:"title_zh"`
			BodyEn  string `json:"body_en"`
			CAPXML  string `json:"cap_xml"`
			Atom    string `json:"atom"`
		} `json:"notices"`
	}
	get(&pub, fmt.Sprintf("/api/v1/app/notice-preview?county=%d", county), http.StatusOK).decode(t, &pv)
	if len(pv.Notices) != 0 {
		t.Fatalf("the story published everything, yet the preview has %d notices", len(pv.Notices))
	}
	// Approve a fresh proposal that no active zone overlaps (the others are
	// refused with 409).
	approved := false
	for _, p := range ps.Proposals {
		r := e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/approve", p.ID), cookie: ex.cookie, csrf: ex.csrf,
			json: map[string]any{"reason": "app api test"}})
		if r.StatusCode == http.StatusCreated {
			approved = true
			break
		}
		r.expect(t, http.StatusConflict, "approve an overlapping proposal")
	}
	if !approved {
		t.Fatal("no fresh proposal could be approved")
	}
	var before int
	if err := e.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM notices`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	get(&pub, fmt.Sprintf("/api/v1/app/notice-preview?county=%d", county), http.StatusOK).decode(t, &pv)
	if len(pv.Notices) != 1 {
		t.Fatalf("%d notices previewed after an approval, want 1", len(pv.Notices))
	}
	n := pv.Notices[0]
	if n.TitleZh == "" || n.BodyEn == "" || !strings.Contains(n.CAPXML, "urn:oasis:names:tc:emergency:cap:1.2") ||
		!strings.Contains(n.CAPXML, "<msgType>Update</msgType>") || !strings.Contains(n.Atom, "http://www.w3.org/2005/Atom") || !strings.Contains(n.Atom, ".cap") {
		t.Errorf("preview %+v", n)
	}
	var after int
	if err := e.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM notices`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the preview wrote notices: %d before, %d after", before, after)
	}
}
