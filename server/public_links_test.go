package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// spoofHeaders are what a client (or a cache-poisoning attacker) sends to
// steer links elsewhere.
const spoofHost = "evil.example"

// spoofed sends a request whose Host and X-Forwarded-Proto lie.
func (e *testEnv) spoofed(method, path string, s *session, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = spoofHost
	req.Header.Set("X-Forwarded-Proto", "gopher")
	req.Header.Set("X-Forwarded-Host", spoofHost)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil {
		req.AddCookie(s.cookie)
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: b}
}

// With --public-url set, a client's Host and X-Forwarded-Proto make no
// link: not in the CAP file written at publication, the Atom feed,
// TileJSON or the OGC landing page.
func TestPublicURLLinksIgnoreSpoofedHost(t *testing.T) {
	const public = "https://zones.example.gov.cn"
	e := newTestEnv(t, Config{Public: PublicConfig{BaseURL: public + "/"}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := demo.Load(ctx, e.store, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	if _, err := demo.TellStory(ctx, e.store, sum); err != nil {
		t.Fatalf("demo story: %v", err)
	}
	boss := e.addUser("boss", zoning.RoleAdmin, "correct horse battery")
	e.addUser("pub", zoning.RolePublisher, "correct horse battery")
	pubS := e.login("pub", "correct horse battery")
	var id int64
	var v int
	var b []int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT z.id, z.current_version, v.building_ids FROM zones z JOIN zone_versions v ON v.zone_id = z.id
		AND v.version = z.current_version WHERE z.status = 'active' AND cardinality(v.building_ids) >= 2 ORDER BY z.id LIMIT 1`).Scan(&id, &v, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := (postgis.Zones{S: e.store}).EditMembers(ctx, zoning.Origin{Actor: boss.Principal(zoning.ViaSession)}, id,
		zoning.MembersEdit{Version: v, Reason: "test", MemberChange: zoning.MemberChange{RemoveBuildings: b[:1]}}); err != nil {
		t.Fatal(err)
	}
	res := e.spoofed("POST", "/api/v1/notices", &pubS, map[string]any{"county_id": sum.CountyID, "reason": "publish the adjustment"})
	res.expect(t, http.StatusCreated, "publish")
	var pub struct{ Notices []zoning.Notice }
	res.decode(t, &pub)
	if len(pub.Notices) != 1 {
		t.Fatalf("published %s", res.body)
	}
	check := func(what string, body []byte, want string) {
		t.Helper()
		s := string(body)
		if strings.Contains(s, spoofHost) || strings.Contains(s, "gopher:") {
			t.Errorf("%s carries the spoofed host: %.600s", what, s)
		}
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %q: %.600s", what, want, s)
		}
	}
	capFile := e.spoofed("GET", fmt.Sprintf("/notices/%d.cap", pub.Notices[0].ID), nil, nil).expect(t, http.StatusOK, "CAP file")
	check("CAP file", capFile.body, public+"/notices/")
	check("Atom feed", e.spoofed("GET", "/notices.atom", nil, nil).expect(t, http.StatusOK, "feed").body, public+"/notices/")
	check("TileJSON", e.spoofed("GET", "/tiles/zones.json", nil, nil).expect(t, http.StatusOK, "TileJSON").body, public+"/tiles/zones/{z}/{x}/{y}.mvt")
	check("OGC landing", e.spoofed("GET", "/ogc?f=json", nil, nil).expect(t, http.StatusOK, "OGC").body, public+"/ogc")
}

// Without a public URL the links follow the request only under
// --insecure-dev (local development); otherwise they are relative, never
// the client's Host.
func TestLinksWithoutPublicURL(t *testing.T) {
	secure := newSecureTestEnv(t, Config{}, nil)
	tj := secure.spoofed("GET", "/tiles/zones.json", nil, nil).expect(t, http.StatusOK, "TileJSON").body
	if strings.Contains(string(tj), spoofHost) || !strings.Contains(string(tj), `"/tiles/zones/{z}/{x}/{y}.mvt`) {
		t.Errorf("TileJSON without a public URL: %s", tj)
	}
	dev := newTestEnv(t, Config{}, nil)
	res := dev.do(request{method: "GET", path: "/tiles/zones.json"}).expect(t, http.StatusOK, "TileJSON")
	if !strings.Contains(string(res.body), dev.ts.URL+"/tiles/zones/") {
		t.Errorf("insecure-dev TileJSON %s, want links to %s", res.body, dev.ts.URL)
	}
}
