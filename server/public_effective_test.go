package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/mvt"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// setDBClock moves the database's clock of the public map (riskzone_now(),
// migration 009) to at for every new connection of the test database, and
// drops the pools' connections so that the next queries see it.
func setDBClock(t *testing.T, s *postgis.Store, at time.Time) {
	t.Helper()
	ctx := context.Background()
	db := s.Pool.Config().ConnConfig.Database
	// A custom setting of a database is a superuser's to change.
	pgtest.AdminExec(t, s, fmt.Sprintf(`ALTER DATABASE %s SET riskzone.clock = %s`,
		pgx.Identifier{db}.Sanitize(), "'"+at.UTC().Format(time.RFC3339Nano)+"'"))
	s.Reset() // the public streams' pool too
	var got time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT riskzone_now()`).Scan(&got); err != nil || !got.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("riskzone_now() = %s (%v), want %s", got, err, at)
	}
}

// publicSight is what the public outputs say of one zone at a point.
type publicSight struct {
	geojson, lookup, county, tile, ogc, export, list bool
}

// look reads every public output for zone (its point lon/lat, its tile).
func (e *publicEnv) look(t *testing.T, zone int64, lon, lat float64) publicSight {
	t.Helper()
	var s publicSight
	var fc struct {
		Features []struct {
			ID         any            `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	has := func(path string) bool {
		fc.Features = nil
		e.get(path, http.StatusOK).decode(t, &fc)
		for _, f := range fc.Features {
			if fmt.Sprint(f.ID) == fmt.Sprint(zone) || fmt.Sprint(f.Properties["zone_id"]) == fmt.Sprint(zone) {
				return true
			}
		}
		return false
	}
	s.geojson = has(fmt.Sprintf("/api/v1/public/zones?county=%d", e.sum.CountyID))
	s.ogc = has("/ogc/collections/zones/items?limit=1000")
	s.export = has("/api/v1/export/zones.geojson")
	var list struct {
		Areas []struct {
			ZoneID int64 `json:"zone_id"`
		} `json:"areas"`
	}
	e.get("/api/v1/export/lookup.json", http.StatusOK).decode(t, &list)
	for _, a := range list.Areas {
		s.list = s.list || a.ZoneID == zone
	}
	var a lookup.Answer
	e.get(fmt.Sprintf("/api/v1/public/lookup?lon=%.12g&lat=%.12g", lon, lat), http.StatusOK).decode(t, &a)
	for _, z := range a.Zones {
		s.lookup = s.lookup || z.ZoneID == zone
	}
	page := e.get(fmt.Sprintf("/counties/%d", e.sum.CountyID), http.StatusOK)
	s.county = strings.Contains(string(page.body), fmt.Sprintf(`/zones/%d"`, zone))
	tile := tiles.TileOf(lon, lat, 14)
	body := e.get(fmt.Sprintf("/tiles/zones/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y), http.StatusOK).body
	layers, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatalf("decode tile %v: %v", tile, err)
	}
	for _, l := range layers {
		for _, f := range l.Features {
			s.tile = s.tile || fmt.Sprint(f.ID) == fmt.Sprint(zone)
		}
	}
	return s
}

// asOf reports whether the "as of" export at instant at holds zone.
func (e *publicEnv) asOf(t *testing.T, zone int64, at time.Time) bool {
	t.Helper()
	var fc struct {
		Features []struct {
			ID any `json:"id"`
		} `json:"features"`
	}
	e.get("/api/v1/export/zones.geojson?at="+url.QueryEscape(at.UTC().Format(time.RFC3339)), http.StatusOK).decode(t, &fc)
	for _, f := range fc.Features {
		if fmt.Sprint(f.ID) == fmt.Sprint(zone) {
			return true
		}
	}
	return false
}

var everywhere = publicSight{true, true, true, true, true, true, true}

// A lift published now and effective tomorrow leaves the zone on the public
// map, lookup, county page, tiles and exports until tomorrow; when the
// database's clock passes the effective time the view switches, and the
// wake-up bumps the zones layer so the cached outputs (lookup index, tiles,
// pages) follow. The "as of" export answers by the same definition.
func TestPublicHonoursEffectiveTime(t *testing.T) {
	e := newPublicEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.srv.Start(ctx)
	for deadline := time.Now().Add(10 * time.Second); !e.srv.public.pages.live.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the page cache did not start within 10 s")
		}
	}
	var zone int64
	var lon, lat float64
	if err := e.store.Pool.QueryRow(ctx, `SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	if got := e.look(t, zone, lon, lat); got != (everywhere) {
		t.Fatalf("zone %d before any lift: %+v, want it everywhere", zone, got)
	}
	published := time.Now().UTC().Truncate(time.Millisecond)
	effective := published.Add(24 * time.Hour)
	root, pub := e.addUser("root", zoning.RoleAdmin, ""), e.addUser("pub", zoning.RolePublisher, "")
	if _, err := (postgis.Zones{S: e.store}).Lift(ctx, zoning.Origin{Actor: root.Principal(zoning.ViaSession)}, zone,
		zoning.LiftRequest{Reason: "test: lifted by the command centre's decision", Override: true}); err != nil {
		t.Fatal(err)
	}
	ns := postgis.Notices{S: e.store, Now: func() time.Time { return published }}
	if _, err := ns.Publish(ctx, zoning.Origin{Actor: pub.Principal(zoning.ViaSession)},
		zoning.PublishRequest{CountyID: e.sum.CountyID, EffectiveAt: &effective, Reason: "lift effective tomorrow"}); err != nil {
		t.Fatal(err)
	}
	setDBClock(t, e.store, published.Add(time.Minute))
	layerBefore, err := ns.LayerVersion(ctx, "zones")
	if err != nil {
		t.Fatal(err)
	}
	// The publication bumped the layers: let the index catch up, then the
	// zone must still be everywhere.
	waitIndex(t, e, layerBefore, lon, lat)
	if got := e.look(t, zone, lon, lat); got != (everywhere) {
		t.Fatalf("zone %d after a lift effective tomorrow: %+v, want it still everywhere", zone, got)
	}
	if bumped, next, err := ns.TakeEffect(ctx); err != nil || bumped || next < 23*time.Hour || next > 24*time.Hour {
		t.Fatalf("wake-up before the effective time: bumped %v, next in %s, %v", bumped, next, err)
	}
	if !e.asOf(t, zone, published.Add(12*time.Hour)) {
		t.Fatal("the as-of export between publication and effect lacks the zone")
	}
	if e.asOf(t, zone, effective.Add(time.Hour)) {
		t.Fatal("the as-of export after the effective time still holds the zone")
	}

	// Tomorrow, one minute past the effective time.
	effectsBefore := e.srv.sched.Effects()
	setDBClock(t, e.store, effective.Add(time.Minute))
	var inView bool
	if err := e.store.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public_zone_versions WHERE zone_id = $1 AND status = 'active')`,
		zone).Scan(&inView); err != nil || inView {
		t.Fatalf("the view past the effective time still shows zone %d active (%v)", zone, err)
	}
	e.srv.sched.TakeEffect(ctx)
	if e.srv.sched.Effects() != effectsBefore+1 {
		t.Fatalf("the wake-up did not bump the zones layer (%d bumps)", e.srv.sched.Effects()-effectsBefore)
	}
	after, err := ns.LayerVersion(ctx, "zones")
	if err != nil || after != layerBefore+1 {
		t.Fatalf("zones layer %d after the wake-up, want %d (%v)", after, layerBefore+1, err)
	}
	// Once only: the layer has moved since the effective time.
	if bumped, _, err := ns.TakeEffect(ctx); err != nil || bumped {
		t.Fatalf("a second wake-up bumped again (%v)", err)
	}
	waitIndex(t, e, after, lon, lat)
	if got := e.look(t, zone, lon, lat); got != (publicSight{}) {
		t.Fatalf("zone %d after the effective time: %+v, want it nowhere", zone, got)
	}
	if !e.asOf(t, zone, published.Add(12*time.Hour)) {
		t.Fatal("the as-of export between publication and effect lost the zone")
	}
}

// waitIndex waits until the lookup index is built at zones layer version v
// or later.
func waitIndex(t *testing.T, e *publicEnv, v int64, lon, lat float64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var a lookup.Answer
		e.get(fmt.Sprintf("/api/v1/public/lookup?lon=%.12g&lat=%.12g", lon, lat), http.StatusOK).decode(t, &a)
		if a.IndexVersion >= v {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup index at version %d, want %d", a.IndexVersion, v)
		}
	}
}
