package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// need is who may use a route (or one probe of it).
type need string

const (
	needPublic    need = "public"    // anyone, anonymous included
	needExpert    need = "expert"    // expert or admin
	needPublisher need = "publisher" // publisher or admin
	needAdmin     need = "admin"     // admin only
	needAgency    need = "agency"    // agency, expert or admin
	needStaff     need = "staff"     // expert, publisher or admin
)

// routeRule is the expectation of one route: who may use it, and the
// requests that probe it (params filled in); without probes the route's
// path is probed with every :param set to 999999 (ids that do not exist).
type routeRule struct {
	need   need
	probes []probe
}

// probe is one request of a route, with its own need when it differs
// from the route's (a restricted tile set on the public tile route).
type probe struct {
	path string
	need need // "" : the route's
	// static answers (JavaScript, CSS) are not scanned for case data.
	static bool
	// hidden: what the role may not use does not exist for it (404), as
	// the restricted OGC collections.
	hidden bool
}

// matrixRoles are the principals every probe is sent as.
var matrixRoles = []zoning.Role{zoning.RolePublic, zoning.RoleAgency, zoning.RolePublisher, zoning.RoleExpert, zoning.RoleAdmin}

// allowed reports whether role may use what n guards.
func (n need) allowed(role zoning.Role) bool {
	switch n {
	case needPublic:
		return true
	case needExpert:
		return role == zoning.RoleExpert || role == zoning.RoleAdmin
	case needPublisher:
		return role == zoning.RolePublisher || role == zoning.RoleAdmin
	case needAdmin:
		return role == zoning.RoleAdmin
	case needAgency:
		return role == zoning.RoleAgency || role == zoning.RoleExpert || role == zoning.RoleAdmin
	case needStaff:
		return role == zoning.RoleExpert || role == zoning.RolePublisher || role == zoning.RoleAdmin
	}
	panic("unknown need " + n)
}

// The authorization matrix: every registered route (echo's own list, so a
// new route fails this test until it is classified here) x every role,
// anonymous included. A role that may not use a route gets 401
// (anonymous) or 403; a role that may gets neither, and never a 5xx.
// Writes are probed with empty bodies and unknown ids: they must fail as
// 4xx and change nothing. Every anonymous answer is then scanned for case
// data (checkPrivacy).
func TestAuthorizationMatrix(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	ids := map[string]int64{"county": e.sum.CountyID, "zone": e.story.Adjusted, "notice": e.story.Notices[0]}
	for k, q := range map[string]string{
		"case":     `SELECT min(id) FROM cases`,
		"proposal": `SELECT min(id) FROM proposals`,
		"run":      `SELECT min(id) FROM proposal_runs`,
	} {
		var id int64
		if err := e.store.Pool.QueryRow(ctx, q).Scan(&id); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		ids[k] = id
	}
	p := func(format string, args ...any) probe { return probe{path: fmt.Sprintf(format, args...)} }
	hide := func(path string, n need) probe { return probe{path: path, need: n, hidden: true} }
	county, zone, notice := ids["county"], ids["zone"], ids["notice"]
	rules := map[string]routeRule{
		"GET /healthz": {needPublic, nil},
		"GET /readyz":  {needPublic, nil},
		"GET /metrics": {needAdmin, nil},

		"POST /api/v1/auth/login":         {needPublic, nil},
		"POST /api/v1/auth/logout":        {needPublic, nil},
		"GET /api/v1/auth/me":             {needPublic, nil},
		"GET /api/v1/admin/users":         {needAdmin, nil},
		"GET /api/v1/admin/tokens":        {needAdmin, nil},
		"POST /api/v1/admin/tokens":       {needAdmin, nil},
		"DELETE /api/v1/admin/tokens/:id": {needAdmin, nil},

		"POST /api/v1/admin/subscribers":       {needAdmin, nil},
		"GET /api/v1/admin/subscribers":        {needAdmin, nil},
		"GET /api/v1/admin/subscribers/:id":    {needAdmin, nil},
		"PATCH /api/v1/admin/subscribers/:id":  {needAdmin, nil},
		"DELETE /api/v1/admin/subscribers/:id": {needAdmin, nil},

		"GET /api/v1/admin/subscribers/:id/deliveries":                      {needAdmin, nil},
		"POST /api/v1/admin/subscribers/:id/deliveries/:delivery/redeliver": {needAdmin, nil},
		"POST /api/v1/admin/subscribers/:id/requeue":                        {needAdmin, nil},

		"GET /api/v1/cases":                       {needExpert, []probe{p("/api/v1/cases?county=%d", county)}},
		"POST /api/v1/cases":                      {needExpert, nil},
		"GET /api/v1/cases/:id":                   {needExpert, []probe{p("/api/v1/cases/%d", ids["case"])}},
		"PATCH /api/v1/cases/:id":                 {needExpert, nil},
		"GET /api/v1/cases/:id/traces":            {needExpert, []probe{p("/api/v1/cases/%d/traces", ids["case"])}},
		"POST /api/v1/cases/:id/traces":           {needExpert, nil},
		"POST /api/v1/proposals":                  {needExpert, nil},
		"GET /api/v1/proposal-runs/:id":           {needExpert, []probe{p("/api/v1/proposal-runs/%d", ids["run"])}},
		"GET /api/v1/proposals/:id":               {needExpert, []probe{p("/api/v1/proposals/%d", ids["proposal"])}},
		"POST /api/v1/proposals/:id/approve":      {needExpert, nil},
		"POST /api/v1/proposals/:id/reject":       {needExpert, nil},
		"POST /api/v1/proposals/:id/enlarge":      {needExpert, nil},
		"POST /api/v1/proposals/:id/shrink":       {needExpert, nil},
		"GET /api/v1/zones":                       {needExpert, nil},
		"POST /api/v1/zones/merge":                {needExpert, nil},
		"GET /api/v1/zones/:id":                   {needExpert, []probe{p("/api/v1/zones/%d", zone)}},
		"GET /api/v1/zones/:id/versions":          {needExpert, []probe{p("/api/v1/zones/%d/versions", zone)}},
		"GET /api/v1/zones/:id/versions/:version": {needExpert, []probe{p("/api/v1/zones/%d/versions/1", zone)}},
		"GET /api/v1/zones/:id/diff":              {needExpert, []probe{p("/api/v1/zones/%d/diff", zone)}},
		"PUT /api/v1/zones/:id/geometry":          {needExpert, nil},
		"PATCH /api/v1/zones/:id/members":         {needExpert, nil},
		"POST /api/v1/zones/:id/split":            {needExpert, nil},
		"GET /api/v1/zones/:id/screenings":        {needExpert, []probe{p("/api/v1/zones/%d/screenings", zone)}},
		"POST /api/v1/zones/:id/screenings":       {needExpert, nil},
		"GET /api/v1/zones/:id/lifting":           {needExpert, []probe{p("/api/v1/zones/%d/lifting", zone)}},
		"POST /api/v1/zones/:id/lift":             {needExpert, nil},
		"GET /api/v1/counties/:id/status":         {needExpert, []probe{p("/api/v1/counties/%d/status", county)}},

		"GET /api/v1/contacts":            {needExpert, []probe{p("/api/v1/contacts?county=%d", county)}},
		"POST /api/v1/contacts":           {needExpert, nil},
		"GET /api/v1/contacts/:id":        {needExpert, []probe{p("/api/v1/contacts/1")}},
		"POST /api/v1/contacts/:id/steps": {needExpert, nil},

		"GET /api/v1/quarantine-sites":               {needExpert, []probe{p("/api/v1/quarantine-sites?county=%d", county)}},
		"POST /api/v1/quarantine-sites":              {needExpert, nil},
		"PATCH /api/v1/quarantine-sites/:id":         {needExpert, nil},
		"POST /api/v1/quarantine-sites/assign":       {needExpert, nil},
		"PUT /api/v1/contacts/:id/site":              {needExpert, nil},
		"GET /api/v1/contacts/overdue-count":         {needExpert, []probe{p("/api/v1/contacts/overdue-count?county=%d", county)}},
		"GET /api/v1/compounds/:id/lockdown":         {needExpert, []probe{p("/api/v1/compounds/1/lockdown")}},
		"POST /api/v1/compounds/:id/entrances":       {needExpert, nil},
		"POST /api/v1/compounds/:id/entrances/adopt": {needExpert, nil},
		"PATCH /api/v1/entrances/:id":                {needExpert, nil},
		"GET /api/v1/zones/:id/compounds":            {needExpert, []probe{p("/api/v1/zones/%d/compounds", zone)}},
		"GET /api/v1/zones/:id/quarantine":           {needExpert, []probe{p("/api/v1/zones/%d/quarantine", zone)}},
		"GET /api/v1/proposals/:id/quarantine":       {needExpert, nil},

		"POST /api/v1/notices":                           {needPublisher, nil},
		"GET /api/v1/notices/pending":                    {needPublisher, []probe{p("/api/v1/notices/pending?county=%d", county)}},
		"POST /api/v1/notices/:id/corrections":           {needPublisher, nil},
		"GET /api/v1/notices/corrections":                {needPublisher, []probe{p("/api/v1/notices/corrections?county=%d", county)}},
		"POST /api/v1/notices/corrections/:cid/confirm":  {needPublisher, nil},
		"POST /api/v1/notices/corrections/:cid/withdraw": {needPublisher, nil},

		"GET /tiles/:set/:z/:x/:y": {needPublic, []probe{
			p("/tiles/public/12/3370/1552.mvt"), p("/tiles/zones/14/13482/6209.mvt"), p("/tiles/buildings/15/26964/12418.mvt"),
			p("/tiles/barriers/13/6741/3104.mvt"), p("/tiles/admin/10/842/388.mvt"),
			{path: "/tiles/expert/12/3370/1552.mvt", need: needExpert}, {path: "/tiles/cases/12/3370/1552.mvt", need: needExpert},
			{path: "/tiles/spread/12/3370/1552.mvt", need: needExpert}, {path: "/tiles/proposals/12/3370/1552.mvt", need: needExpert},
		}},
		"GET /tiles/:file": {needPublic, []probe{p("/tiles/public.json"), p("/tiles/zones.json"),
			{path: "/tiles/expert.json", need: needExpert}, {path: "/tiles/cases.json", need: needExpert}}},
		"GET /styles/:file": {needPublic, []probe{p("/styles/public.json"), {path: "/styles/expert.json", need: needExpert}}},

		"GET /":                      {needPublic, []probe{p("/"), p("/?lang=en")}},
		"GET /counties/:id":          {needPublic, []probe{p("/counties/%d", county), p("/counties/%d?lang=en", county)}},
		"GET /zones/:id":             {needPublic, []probe{p("/zones/%d", zone), p("/zones/%d?lang=en", zone)}},
		"GET /notices":               {needPublic, nil},
		"GET /notices.atom":          {needPublic, nil},
		"GET /notices/:id":           {needPublic, []probe{p("/notices/%d", notice), p("/notices/%d.cap", notice)}},
		"GET /lookup":                {needPublic, []probe{p("/lookup?q=%s", "城建花园小区73号楼")}},
		"GET /embed":                 {needPublic, []probe{p("/embed?county=%d", county)}},
		"GET /static/*":              {needPublic, []probe{{path: "/static/site.css", static: true}}},
		"GET /assets/*":              {needPublic, []probe{{path: "/assets/embed.js", static: true}}},
		"GET /api/v1/public/lookup":  {needPublic, []probe{p("/api/v1/public/lookup?q=%s&days=14", "城建花园小区73号楼")}},
		"GET /api/v1/public/changes": {needPublic, []probe{p("/api/v1/public/changes?since=2000-01-01T00:00:00Z")}},
		"GET /api/v1/public/zones":   {needPublic, []probe{p("/api/v1/public/zones"), p("/api/v1/public/zones?county=%d", county)}},

		"GET /api/v1/public/notices": {needPublic, []probe{p("/api/v1/public/notices?since_id=0"), p("/api/v1/public/notices?since_id=0&county=%d", county)}},

		// OGC API - Features: public collections for anyone; the restricted
		// ones exist only for the roles that may read them.
		"GET /ogc":                        {needPublic, nil},
		"GET /ogc/":                       {needPublic, nil},
		"GET /ogc/conformance":            {needPublic, nil},
		"GET /ogc/api":                    {needPublic, nil},
		"GET /ogc/api.html":               {needPublic, nil},
		"GET /ogc/collections":            {needPublic, nil},
		"GET /ogc/collections/:id":        {needPublic, []probe{p("/ogc/collections/zones"), p("/ogc/collections/notices"), hide("/ogc/collections/cases", needExpert), hide("/ogc/collections/zones-current", needAgency)}},
		"GET /ogc/collections/:id/schema": {needPublic, []probe{p("/ogc/collections/zones/schema"), hide("/ogc/collections/traces/schema", needExpert)}},
		"GET /ogc/collections/:id/items": {needPublic, []probe{p("/ogc/collections/zones/items"), p("/ogc/collections/zone-versions/items?limit=5"),
			p("/ogc/collections/buildings/items?limit=5"), p("/ogc/collections/barriers/items?limit=5"), p("/ogc/collections/notices/items"),
			hide("/ogc/collections/cases/items", needExpert), hide("/ogc/collections/traces/items", needExpert),
			hide("/ogc/collections/zones-current/items", needAgency)}},
		"GET /ogc/collections/:id/items/:fid": {needPublic, []probe{p("/ogc/collections/zones/items/%d", zone)}},

		"GET /api/v1/export/zones.geojson": {needPublic, []probe{p("/api/v1/export/zones.geojson?county=%d", county),
			{path: "/api/v1/export/zones.geojson?source=current", need: needAgency}}},
		"GET /api/v1/export/zone-versions.geojson": {needPublic, nil},
		"GET /api/v1/export/buildings.geojson":     {needPublic, []probe{p("/api/v1/export/buildings.geojson?zone=%d", zone)}},
		"GET /api/v1/export/notices.geojson":       {needPublic, nil},
		"GET /api/v1/export/lookup.json":           {needPublic, nil},
		"GET /api/v1/export/addresses.csv":         {needPublic, nil},

		// The expert app: its files are public (the data behind it is not).
		"GET /app":                               {needPublic, []probe{{path: "/app", static: true}}},
		"GET /app/*":                             {needPublic, []probe{{path: "/app/", static: true}, {path: "/app/zones/1", static: true}}},
		"GET /api/v1/app/counties":               {needStaff, nil},
		"GET /api/v1/app/buildings":              {needStaff, []probe{p("/api/v1/app/buildings?ids=1,2")}},
		"GET /api/v1/app/buildings/:id":          {needStaff, []probe{p("/api/v1/app/buildings/1")}},
		"GET /api/v1/app/search":                 {needStaff, []probe{p("/api/v1/app/search?q=%s", "城建花园小区73号楼")}},
		"GET /api/v1/app/proposals":              {needExpert, []probe{p("/api/v1/app/proposals?county=%d", county)}},
		"GET /api/v1/app/runs":                   {needExpert, []probe{p("/api/v1/app/runs?county=%d", county)}},
		"GET /api/v1/app/proposals/:id/barriers": {needExpert, []probe{p("/api/v1/app/proposals/%d/barriers", ids["proposal"])}},
		"GET /api/v1/app/notice-preview":         {needPublisher, []probe{p("/api/v1/app/notice-preview?county=%d", county)}},

		"GET /api/v1/rule-sets":             {needStaff, nil},
		"PUT /api/v1/counties/:id/rule-set": {needAdmin, nil},

		"POST /api/v1/imports":    {needAdmin, nil},
		"GET /api/v1/imports/:id": {needAdmin, nil},
	}

	// Every registered route is classified, and every rule names a route.
	registered := map[string]bool{}
	for _, r := range e.srv.echo.Routes() {
		if r.Method == echoRouteNotFound {
			continue
		}
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet // Match(GET, HEAD): probed as GET
		}
		registered[method+" "+r.Path] = true
	}
	var unclassified []string
	for k := range registered {
		if _, ok := rules[k]; !ok {
			unclassified = append(unclassified, k)
		}
	}
	sort.Strings(unclassified)
	if len(unclassified) > 0 {
		t.Errorf("routes missing from the authorization matrix (add them to rules in %s):\n  %s",
			"server/authz_matrix_test.go", strings.Join(unclassified, "\n  "))
	}
	for k := range rules {
		if !registered[k] {
			t.Errorf("the matrix names %s, which is not a route", k)
		}
	}

	tokens := map[zoning.Role]string{}
	for _, role := range matrixRoles[1:] {
		tokens[role] = e.apiToken("matrix-"+string(role), role)
	}
	var before int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM audit_log`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !registered[k] {
			continue
		}
		rule := rules[k]
		method, path, _ := strings.Cut(k, " ")
		probes := rule.probes
		if len(probes) == 0 {
			probes = []probe{{path: fillParams(path)}}
		}
		for _, pr := range probes {
			n := cmpNeed(pr.need, rule.need)
			for _, role := range matrixRoles {
				r := request{method: method, path: pr.path, bearer: tokens[role]}
				if method != http.MethodGet {
					r.json = "{}"
				}
				res := e.do(r)
				what := fmt.Sprintf("%s %s as %s", method, pr.path, role)
				switch {
				case res.StatusCode >= 500:
					t.Errorf("%s: %d %s", what, res.StatusCode, res.body)
				case pr.hidden && !n.allowed(role):
					if res.StatusCode != http.StatusNotFound {
						t.Errorf("%s: %d, want 404 (hidden from all but %s)", what, res.StatusCode, n)
					}
				case n.allowed(role):
					if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
						t.Errorf("%s: %d, want access (%s route): %s", what, res.StatusCode, n, res.body)
					}
					if method != http.MethodGet && method != http.MethodHead && res.StatusCode < 400 && k != "POST /api/v1/auth/logout" {
						t.Errorf("%s with an empty body: %d, want a 4xx", what, res.StatusCode)
					}
				case role == zoning.RolePublic:
					if res.StatusCode != http.StatusUnauthorized {
						t.Errorf("%s: %d, want 401 (%s route)", what, res.StatusCode, n)
					}
				default:
					if res.StatusCode != http.StatusForbidden {
						t.Errorf("%s: %d, want 403 (%s route)", what, res.StatusCode, n)
					}
				}
				if role == zoning.RolePublic && method == http.MethodGet && !pr.static && res.StatusCode < 300 {
					e.mu.Lock()
					e.seen["matrix "+pr.path] = res.body
					e.mu.Unlock()
				}
			}
		}
	}
	// Refused and failed writes are audited as such; none succeeded.
	var ok int
	if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE id > $1 AND outcome = 'ok'`, before).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	if ok != 0 {
		t.Errorf("%d writes succeeded with empty bodies", ok)
	}
	checkPrivacy(t, e)
}

// echoRouteNotFound is the method echo lists its group catch-alls under.
const echoRouteNotFound = "echo_route_not_found"

func cmpNeed(a, b need) need {
	if a != "" {
		return a
	}
	return b
}

// fillParams sets every :param of a route path to an id that does not
// exist, and a * to a file that does not.
func fillParams(path string) string {
	parts := strings.Split(path, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "999999"
		} else if s == "*" {
			parts[i] = "none"
		}
	}
	return strings.Join(parts, "/")
}
