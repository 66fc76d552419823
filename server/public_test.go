package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// publicEnv is a server on the demo county after the demo story: published
// notices (Alert, Update, Cancel), subscribers, fresh proposals.
type publicEnv struct {
	*testEnv
	sum   *demo.Summary
	story *demo.StorySummary
	// seen collects every public response body, for the privacy scan.
	mu   sync.Mutex
	seen map[string][]byte
}

func newPublicEnv(t *testing.T) *publicEnv {
	t.Helper()
	// Hundreds of requests from one loopback client: not a test of the
	// per-address limits (limits_test.go, login_throttle_test.go).
	e := newTestEnv(t, Config{Limits: LimitConfig{ExemptLoopback: true}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := demo.Load(ctx, e.store, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	st, err := demo.TellStory(ctx, e.store, sum)
	if err != nil {
		t.Fatalf("demo story: %v", err)
	}
	return &publicEnv{testEnv: e, sum: sum, story: st, seen: map[string][]byte{}}
}

// get fetches a public path anonymously, expects status, and keeps the body.
func (e *publicEnv) get(path string, status int) response {
	e.t.Helper()
	res := e.do(request{method: "GET", path: path})
	res.expect(e.t, status, "GET "+path)
	e.mu.Lock()
	e.seen[path] = res.body
	e.mu.Unlock()
	return res
}

// The public site end to end on the demo story: pages in both languages,
// feeds, lookup, and no case data anywhere in what the public can read.
func TestPublicSite(t *testing.T) {
	e := newPublicEnv(t)
	county := e.sum.CountyID
	t.Run("pages", func(t *testing.T) { checkPages(t, e, county) })
	t.Run("feeds", func(t *testing.T) { checkFeeds(t, e) })
	t.Run("lookup", func(t *testing.T) { checkLookup(t, e, county) })
	t.Run("privacy", func(t *testing.T) { checkPrivacy(t, e) })
}

func checkPages(t *testing.T, e *publicEnv, county int64) {
	home := e.get("/", http.StatusOK)
	body := string(home.body)
	for _, want := range []string{`<html lang="zh-CN">`, "临河区", "高风险区", "/embed", "rz-map", "/assets/vendor/maplibre-gl.js"} {
		if want == "/embed" {
			continue // the snippet is on the county page
		}
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if csp := home.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("home CSP %q", csp)
	}
	en := e.get("/?lang=en", http.StatusOK)
	if !strings.Contains(string(en.body), `<html lang="en">`) || !strings.Contains(string(en.body), "High-risk zone") {
		t.Errorf("English home page: %s", en.body)
	}
	cp := e.get(fmt.Sprintf("/counties/%d", county), http.StatusOK)
	cb := string(cp.body)
	for _, want := range []string{"<h1>", "号楼", "最早解除日期", "&lt;iframe", fmt.Sprintf("/embed?county=%d", county), "<label for=\"snippet\">"} {
		if !strings.Contains(cb, want) {
			t.Errorf("county page lacks %q", want)
		}
	}
	// Every zone of the county page has its page; the lifted zone's page says so.
	zoneLinks := regexp.MustCompile(`href="/zones/(\d+)"`).FindAllStringSubmatch(cb, -1)
	if len(zoneLinks) == 0 {
		t.Fatal("county page links no zone")
	}
	for _, m := range zoneLinks {
		zp := e.get("/zones/"+m[1], http.StatusOK)
		for _, want := range []string{"最早解除日期", "管控措施", "通告记录", "距最早解除"} {
			if !strings.Contains(string(zp.body), want) && !strings.Contains(string(zp.body), "今日可评估解除") {
				t.Errorf("zone %s page lacks %q", m[1], want)
			}
		}
	}
	lifted := e.get(fmt.Sprintf("/zones/%d", e.story.Lifted), http.StatusOK)
	if !strings.Contains(string(lifted.body), "已解除") {
		t.Errorf("lifted zone page does not say lifted")
	}
	e.get(fmt.Sprintf("/zones/%d?lang=en", e.story.Split), http.StatusOK)
	nl := e.get("/notices", http.StatusOK)
	for _, id := range e.story.Notices {
		if !strings.Contains(string(nl.body), fmt.Sprintf(`href="/notices/%d"`, id)) {
			t.Errorf("notice list lacks notice %d", id)
		}
		np := e.get(fmt.Sprintf("/notices/%d", id), http.StatusOK)
		for _, want := range []string{"临河区新冠肺炎疫情防控指挥部", "经专家研判", "特此通告", fmt.Sprintf("/notices/%d.cap", id)} {
			if !strings.Contains(string(np.body), want) {
				t.Errorf("notice %d page lacks %q", id, want)
			}
		}
		e.get(fmt.Sprintf("/notices/%d?lang=en", id), http.StatusOK)
	}
	first := e.get(fmt.Sprintf("/notices/%d", e.story.Notices[0]), http.StatusOK)
	if !regexp.MustCompile(`一、高风险区（\d+个）`).Match(first.body) || !strings.Contains(string(first.body), "除高风险区以外的其他区域为低风险区") {
		t.Errorf("first notice lacks the numbered sections: %s", first.body)
	}
	e.get("/notices/999999", http.StatusNotFound)
	e.get("/zones/999999", http.StatusNotFound)
	e.get("/zones/abc", http.StatusBadRequest)
	e.get("/lookup", http.StatusOK)
	emb := e.get(fmt.Sprintf("/embed?county=%d", county), http.StatusOK)
	if csp := emb.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") {
		t.Errorf("embed CSP %q: want the configured frame-ancestors", csp)
	}
	if !strings.Contains(string(emb.body), `data-zones="/api/v1/public/zones?county=`) {
		t.Errorf("embed page: %s", emb.body)
	}
	gj := e.get(fmt.Sprintf("/api/v1/public/zones?county=%d", county), http.StatusOK)
	if !strings.Contains(string(gj.body), `"FeatureCollection"`) || !strings.Contains(string(gj.body), `"level":"high"`) {
		t.Errorf("public zones GeoJSON: %.300s", gj.body)
	}
	e.get("/static/site.css", http.StatusOK)
	// Print CSS and accessibility basics.
	css := string(e.get("/static/site.css", http.StatusOK).body)
	if !strings.Contains(css, "@media print") {
		t.Error("site.css has no print rules")
	}
}

// checkPrivacy scans every public answer for case data: case numbers, case
// ids in context, trace times, clock reasons naming cases, and residence
// addresses of cases whose building is in no public zone.
func checkPrivacy(t *testing.T, e *publicEnv) {
	ctx := context.Background()
	var forbidden []string
	rows, err := e.store.Pool.Query(ctx, `SELECT c.case_no, c.id, c.residence_address,
			EXISTS (SELECT 1 FROM public_zone_versions p WHERE c.residence_building_id = ANY (p.building_ids)
			        OR c.residence_unit_id = ANY (p.unit_ids)) FROM cases c`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var no, addr string
		var id int64
		var zoned bool
		if err := rows.Scan(&no, &id, &addr, &zoned); err != nil {
			t.Fatal(err)
		}
		forbidden = append(forbidden, no, fmt.Sprintf("case %d", id), fmt.Sprintf(`"case_id":%d`, id))
		if !zoned && addr != "" {
			forbidden = append(forbidden, addr)
		}
	}
	rows.Close()
	trows, err := e.store.Pool.Query(ctx, `SELECT starts_at FROM traces LIMIT 200`)
	if err != nil {
		t.Fatal(err)
	}
	for trows.Next() {
		var at time.Time
		if err := trows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		forbidden = append(forbidden, at.UTC().Format(time.RFC3339), at.In(time.FixedZone("", 8*3600)).Format("2006-01-02T15:04:05"))
	}
	trows.Close()
	generic := []string{"counted case", "case_no", "病例", "residence", "trace", "clock_reason", "rationale"}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) < 20 {
		t.Fatalf("only %d public answers were scanned", len(e.seen))
	}
	for path, body := range e.seen {
		s := string(body)
		for _, f := range append(forbidden, generic...) {
			if f != "" && strings.Contains(s, f) {
				t.Errorf("public answer %s holds case data %q", path, f)
			}
		}
	}
}

// repoShared finds ../shared beside the repository (the directory holding
// go.mod), walking up from the package directory.
func repoShared(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(shared); err != nil {
				t.Fatalf("../shared is missing beside the repository %s: the CAP schema lives in shared/data/schemas", dir)
			}
			return shared
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// The publishing and subscriber APIs: roles, the second-person rule, CSRF,
// preview, correction; secrets shown once.
func TestPublishAPI(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	county := e.sum.CountyID
	boss := e.addUser("boss", zoning.RoleAdmin, "correct horse battery")
	e.addUser("pub", zoning.RolePublisher, "correct horse battery")
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	bossS, pubS, epiS := e.login("boss", "correct horse battery"), e.login("pub", "correct horse battery"), e.login("epi", "correct horse battery")
	call := func(s session, method, path string, body any) response {
		return e.do(request{method: method, path: path, json: body, cookie: s.cookie, csrf: s.csrf})
	}
	// boss (an admin) lifts the lifted story's neighbour... simpler: adjusts a zone.
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
	req := map[string]any{"county_id": county, "reason": "publish the adjustment"}
	e.do(request{method: "POST", path: "/api/v1/notices", json: req}).expectError(t, http.StatusUnauthorized, "", "anonymous")
	call(epiS, "POST", "/api/v1/notices", req).expectError(t, http.StatusForbidden, "publisher", "expert")
	e.do(request{method: "POST", path: "/api/v1/notices", json: req, cookie: pubS.cookie}).expectError(t, http.StatusForbidden, "CSRF", "no CSRF")
	call(bossS, "POST", "/api/v1/notices", req).expectError(t, http.StatusForbidden, "another publisher", "the author publishes")
	call(pubS, "POST", "/api/v1/notices", map[string]any{"county_id": county, "status": "draft"}).expectError(t, http.StatusBadRequest, "status", "bad status")
	pend := call(pubS, "GET", fmt.Sprintf("/api/v1/notices/pending?county=%d", county), nil).expect(t, http.StatusOK, "pending")
	if !strings.Contains(string(pend.body), `"cap_msg_type":"Update"`) {
		t.Errorf("pending %s", pend.body)
	}
	res := call(pubS, "POST", "/api/v1/notices", req).expect(t, http.StatusCreated, "publish")
	var pub struct{ Notices []zoning.Notice }
	res.decode(t, &pub)
	if len(pub.Notices) != 1 || pub.Notices[0].Kind != zoning.NoticeAdjust {
		t.Fatalf("published %s", res.body)
	}
	call(pubS, "POST", "/api/v1/notices", req).expectError(t, http.StatusConflict, "no approved change", "publish twice")
	// A correction: one publisher drafts it, a second confirms it.
	var draft struct{ Correction zoning.CorrectionDraft }
	call(pubS, "POST", fmt.Sprintf("/api/v1/notices/%d/corrections", pub.Notices[0].ID), map[string]any{"note": "更正：地址有误。"}).
		expect(t, http.StatusCreated, "draft a correction").decode(t, &draft)
	confirm := fmt.Sprintf("/api/v1/notices/corrections/%d/confirm", draft.Correction.ID)
	call(pubS, "POST", confirm, nil).expectError(t, http.StatusForbidden, "second person", "the drafter confirms")
	call(bossS, "POST", confirm, map[string]any{"reason": 7}).expectError(t, http.StatusBadRequest, "reason", "bad decision body")
	var cor zoning.Notice
	call(bossS, "POST", confirm, nil).expect(t, http.StatusCreated, "confirm the correction").decode(t, &cor)
	call(bossS, "POST", confirm, nil).expectError(t, http.StatusConflict, "published already", "confirm twice")
	call(pubS, "POST", "/api/v1/notices/corrections/x/confirm", nil).expectError(t, http.StatusBadRequest, "cid", "bad id")
	page := e.get(fmt.Sprintf("/notices/%d", cor.ID), http.StatusOK)
	if !strings.Contains(string(page.body), fmt.Sprintf(`href="/notices/%d"`, pub.Notices[0].ID)) || !strings.Contains(string(page.body), "更正：地址有误。") {
		t.Errorf("correction page: %s", page.body)
	}

	// Subscribers (admin).
	sub := map[string]any{"name": "卫健委", "url": "https://agency.example/hook", "county_ids": []int64{county}}
	call(pubS, "POST", "/api/v1/admin/subscribers", sub).expectError(t, http.StatusForbidden, "admin", "publisher")
	call(bossS, "POST", "/api/v1/admin/subscribers", map[string]any{"name": "x", "url": "ftp://x"}).expectError(t, http.StatusBadRequest, "url", "bad url")
	created := call(bossS, "POST", "/api/v1/admin/subscribers", sub).expect(t, http.StatusCreated, "create subscriber")
	var cs struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	created.decode(t, &cs)
	if len(cs.Secret) < 16 {
		t.Fatalf("created %s", created.body)
	}
	list := call(bossS, "GET", "/api/v1/admin/subscribers", nil).expect(t, http.StatusOK, "list")
	if strings.Contains(string(list.body), cs.Secret) {
		t.Error("the list shows a secret")
	}
	off := call(bossS, "PATCH", fmt.Sprintf("/api/v1/admin/subscribers/%d", cs.ID), map[string]any{"active": false}).expect(t, http.StatusOK, "disable")
	if !strings.Contains(string(off.body), `"active":false`) {
		t.Errorf("disable %s", off.body)
	}
	call(bossS, "DELETE", fmt.Sprintf("/api/v1/admin/subscribers/%d", cs.ID), nil).expect(t, http.StatusOK, "delete")
	call(bossS, "GET", "/api/v1/admin/subscribers/999999", nil).expectError(t, http.StatusNotFound, "", "unknown")
}
