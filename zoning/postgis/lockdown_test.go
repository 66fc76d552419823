package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Compound lockdown on the demo city: a compound of a designated zone has
// no entrance known; one drawn on its outline is open and unmanned until
// staffed; one drawn far from the outline is refused with nothing stored;
// closing every entrance is flagged; the staff required follows the rule
// set's 1/10.
func TestCompoundLockdown(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	ls := postgis.Lockdowns{S: e.s}
	var zone int64
	if err := e.s.Pool.QueryRow(ctx, `SELECT z.id FROM zones z JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.status = 'active' AND EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (v.building_ids) AND b.compound_id IS NOT NULL AND b.population > 0)
		ORDER BY z.id LIMIT 1`).Scan(&zone); err != nil {
		t.Fatalf("an active zone with a compound: %v", err)
	}
	list, err := ls.OfZone(ctx, zone)
	if err != nil || len(list) == 0 {
		t.Fatalf("compounds of zone %d: %+v %v", zone, list, err)
	}
	l := list[0]
	for _, c := range list {
		if c.Residents > l.Residents {
			l = c
		}
	}
	if l.Residents == 0 {
		t.Fatalf("no compound of zone %d has residents: %+v", zone, list)
	}
	if l.Buildings == 0 || l.Residents == 0 || l.StaffRequired != (l.Residents+9)/10 || len(l.Entrances) != 0 ||
		len(l.Problems) == 0 || !strings.Contains(l.Problems[0], "no entrance") {
		t.Fatalf("compound before any entrance: %+v", l)
	}
	var onLon, onLat, farLon, farLat float64
	if err := e.s.Pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p), ST_X(ST_Centroid(geom)) + 0.01, ST_Y(ST_Centroid(geom))
		FROM compounds, LATERAL ST_StartPoint(ST_ExteriorRing(ST_GeometryN(geom, 1))) p WHERE id = $1`, l.CompoundID).Scan(&onLon, &onLat, &farLon, &farLat); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM compound_entrances`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := ls.AddEntrance(ctx, as(e.approver), l.CompoundID, zoning.NewEntrance{Lon: farLon, Lat: farLat}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("an entrance 900 m from the outline: %v", err)
	}
	if _, err := ls.AddEntrance(ctx, as(e.approver), 1<<40, zoning.NewEntrance{Lon: onLon, Lat: onLat}); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("an unknown compound: %v", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("refused entrances stored: %d", n)
	}
	got, err := ls.AddEntrance(ctx, as(e.approver), l.CompoundID, zoning.NewEntrance{Name: "南门", Lon: onLon, Lat: onLat, Reason: "the only gate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entrances) != 1 || got.Open != 1 || len(got.Unmanned) != 1 || got.Entrances[0].Source != "drawn" {
		t.Fatalf("after drawing an entrance: %+v", got)
	}
	gate := got.Entrances[0].ID
	staff := l.StaffRequired
	if got, err = ls.EditEntrance(ctx, as(e.approver), gate, zoning.EntranceEdit{Staff: &staff, Reason: "duty roster"}); err != nil || len(got.Problems) != 0 {
		t.Fatalf("staffed: %+v %v", got, err)
	}
	closed := "closed"
	if got, err = ls.EditEntrance(ctx, as(e.approver), gate, zoning.EntranceEdit{State: &closed, Reason: "night"}); err != nil ||
		len(got.Problems) != 1 || !strings.Contains(got.Problems[0], "every entrance is closed") {
		t.Fatalf("all closed: %+v %v", got.Problems, err)
	}
	bad := "ajar"
	if _, err := ls.EditEntrance(ctx, as(e.approver), gate, zoning.EntranceEdit{State: &bad, Reason: "x"}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("a bad state: %v", err)
	}
	if _, err := ls.OfZone(ctx, 1<<40); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("an unknown zone: %v", err)
	}
	var audits int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action LIKE 'entrance.%' AND outcome = 'ok'`).Scan(&audits); err != nil || audits != 3 {
		t.Fatalf("%d entrance writes audited, want 3 (%v)", audits, err)
	}
}
