package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// testClock is an injectable clock for Zones.Now and Cases.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to an RFC 3339 instant and returns it.
func (c *testClock) Set(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
	return t
}

// zoneEnv is the scenario county with three users, a clock and the stores.
type zoneEnv struct {
	*scenario
	clk              *testClock
	z                postgis.Zones
	cases            postgis.Cases
	alice, bob, root zoning.User // two experts and an admin
}

func newZoneEnv(t *testing.T) *zoneEnv {
	t.Helper()
	sc := newScenario(t)
	clk := &testClock{}
	clk.Set("2022-11-21T02:00:00Z") // 10:00 on 2022-11-21 in China
	return &zoneEnv{scenario: sc, clk: clk,
		z:     postgis.Zones{S: sc.s, Now: clk.Now},
		cases: postgis.Cases{S: sc.s, Now: clk.Now},
		alice: mustUser(t, sc.s, "alice", zoning.RoleExpert, ""),
		bob:   mustUser(t, sc.s, "bob", zoning.RoleExpert, ""),
		root:  mustUser(t, sc.s, "root", zoning.RoleAdmin, ""),
	}
}

func as(u zoning.User) zoning.Origin {
	return zoning.Origin{Actor: u.Principal(zoning.ViaSession), RemoteAddr: "192.0.2.1"}
}

// proposeBy runs the engine on day (cases up to it) as user u and returns
// the proposal ids.
func (e *zoneEnv) proposeBy(u zoning.User, day string) []int64 {
	e.t.Helper()
	at, err := time.Parse(time.DateOnly, day)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := zoning.Propose(context.Background(), postgis.Proposals{S: e.s}, zoning.ProposeRequest{
		CountyID: e.county, At: at.Add(20 * time.Hour), Now: time.Now()}, &u.ID)
	if err != nil {
		e.t.Fatalf("propose: %v", err)
	}
	return p.IDs
}

// buildingZone designates building (i, j) (cases in both its units) and
// returns the zone, approved by bob from alice's proposal.
func (e *zoneEnv) buildingZone(i, j int) zoning.Zone {
	e.t.Helper()
	b := e.at(i, j)
	e.addCase(b, 1, "2022-11-20")
	e.addCase(b, 2, "2022-11-20")
	ids := e.proposeBy(e.alice, "2022-11-20")
	for _, id := range ids {
		p, err := e.z.Proposal(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if slices.Contains(p.BuildingIDs, b) {
			zn, err := e.z.Approve(context.Background(), as(e.bob), id, zoning.ApproveRequest{Reason: "expert panel: designate"})
			if err != nil {
				e.t.Fatalf("approve: %v", err)
			}
			return zn
		}
	}
	e.t.Fatalf("no proposal holds building %d", b)
	return zoning.Zone{}
}

// rect is a GeoJSON Polygon of a local rectangle.
func rect(x0, y0, x1, y1 float64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"Polygon","coordinates":[%s]}`, ring(x0, y0, x1, y1)))
}

func rects(rs ...[4]float64) json.RawMessage {
	var ps []string
	for _, r := range rs {
		ps = append(ps, "["+ring(r[0], r[1], r[2], r[3])+"]")
	}
	return json.RawMessage(`{"type":"MultiPolygon","coordinates":[` + strings.Join(ps, ",") + `]}`)
}

func ring(x0, y0, x1, y1 float64) string {
	a, b := ll(x0, y0)
	c, d := ll(x1, y1)
	return fmt.Sprintf("[[%.8f,%.8f],[%.8f,%.8f],[%.8f,%.8f],[%.8f,%.8f],[%.8f,%.8f]]", a, b, c, b, c, d, a, d, a, b)
}

// share is the part of building b's footprint inside version v of zone id.
func (e *zoneEnv) share(id int64, v int, b int64) float64 {
	e.t.Helper()
	var s float64
	err := e.s.Pool.QueryRow(context.Background(), `SELECT ST_Area(ST_Intersection(b.geom, v.geom)) / ST_Area(b.geom)
		FROM buildings b, zone_versions v WHERE b.id = $1 AND v.zone_id = $2 AND v.version = $3`, b, id, v).Scan(&s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// cutBuildings counts buildings that version v of zone id cuts (neither
// wholly in nor wholly out).
func (e *zoneEnv) cutBuildings(id int64, v int) int {
	e.t.Helper()
	var n int
	err := e.s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM buildings b, zone_versions v
		WHERE v.zone_id = $1 AND v.version = $2 AND ST_Intersects(b.geom, v.geom)
		  AND ST_Area(ST_Intersection(b.geom, v.geom)) BETWEEN 0.001 * ST_Area(b.geom) AND 0.999 * ST_Area(b.geom)`, id, v).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *zoneEnv) snap() snapshot {
	e.t.Helper()
	var s snapshot
	err := e.s.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM zone_versions), (SELECT count(*) FROM zones),
		(SELECT count(*) FROM screenings), (SELECT count(*) FROM county_low_risk),
		coalesce((SELECT string_agg(id || ':' || current_version || ':' || status, ',' ORDER BY id) FROM zones), ''),
		coalesce((SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM proposals), '')`).Scan(
		&s.versions, &s.zones, &s.screenings, &s.lowRisk, &s.current, &s.proposals)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// audits counts audit rows of an action with an outcome.
func (e *zoneEnv) audits(action, outcome string) int {
	e.t.Helper()
	var n int
	if err := e.s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2`,
		action, outcome).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func day(s string) zoning.Date {
	d, err := zoning.ParseDay("day", s)
	if err != nil {
		panic(err)
	}
	return d
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// buildingZoneAt designates building (i, j) from cases reported on day.
func (e *zoneEnv) buildingZoneAt(i, j int, d string) zoning.Zone {
	e.t.Helper()
	b := e.at(i, j)
	e.addCase(b, 1, d)
	e.addCase(b, 2, d)
	for _, id := range e.proposeBy(e.alice, d) {
		p, err := e.z.Proposal(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if slices.Contains(p.BuildingIDs, b) {
			zn, err := e.z.Approve(context.Background(), as(e.bob), id, zoning.ApproveRequest{Reason: "designate"})
			if err != nil {
				e.t.Fatalf("approve: %v", err)
			}
			return zn
		}
	}
	e.t.Fatalf("no proposal holds building %d", b)
	return zoning.Zone{}
}

// snapshot is what a refused request must leave as it was.
type snapshot struct {
	versions, zones, screenings, lowRisk int
	current                              string
	proposals                            string
}
