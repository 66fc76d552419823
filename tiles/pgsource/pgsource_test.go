package pgsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// demoStore is a fresh database with a small demo city and published zones.
func demoStore(t *testing.T, buildings, zones int) *postgis.Store {
	t.Helper()
	store := pgtest.NewStore(t)
	ctx := testCtx(t)
	today := time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC)
	if _, err := demo.Load(ctx, store, demo.Options{Seed: 7, Buildings: buildings, Today: today}, nil); err != nil {
		t.Fatalf("demo load: %v", err)
	}
	if zones > 0 {
		publishZones(t, store, zones)
	}
	return store
}

// publishZones runs testdata/publish_zones.sql for n zones.
func publishZones(t testing.TB, store *postgis.Store, n int) {
	t.Helper()
	fixture, err := os.ReadFile("testdata/publish_zones.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	conn, err := store.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT set_config('riskzone.publish_zones', $1, false)", itoa(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(fixture)); err != nil {
		t.Fatalf("publish zones: %v", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE zone_versions; ANALYZE zones"); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every layer reads, with the version of layer_versions, from one snapshot.
func TestRegionReadsEveryLayer(t *testing.T) {
	store := demoStore(t, 1500, 4)
	src := New(store.Pool, Options{}, quietLog())
	ctx := testCtx(t)
	versions, err := src.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range tiles.Catalog() {
		reg, err := src.Region(ctx, l.Name, orb.Bound{})
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		if reg.Version != versions[l.Name] || reg.Version == 0 {
			t.Errorf("%s: version %d, layer_versions says %d", l.Name, reg.Version, versions[l.Name])
		}
		if l.Name != "proposals" && len(reg.Features) == 0 {
			t.Errorf("%s: no features", l.Name)
		}
		for _, f := range reg.Features {
			if l.Name == "spread" {
				if f.Cell == 0 || f.Geometry != nil {
					t.Fatalf("spread feature %+v: want a cell and no geometry", f)
				}
				continue
			}
			if f.Geometry == nil || f.ID == 0 {
				t.Fatalf("%s feature %+v: no geometry or id", l.Name, f)
			}
		}
	}
	zones, err := src.Region(ctx, "zones", orb.Bound{})
	if err != nil {
		t.Fatal(err)
	}
	if len(zones.Features) != 4 {
		t.Fatalf("zones: %d features, want the 4 published", len(zones.Features))
	}
	z := zones.Features[0].Props
	if z["level"] != "high" || z["since"] != "2022-11-20" || z["lift"] != "2022-11-25" || !strings.HasSuffix(z["name"].(string), "高风险区") {
		t.Fatalf("zone attributes %v", z)
	}
	// Features with equal attributes share their map.
	b, err := src.Region(ctx, "buildings", orb.Bound{})
	if err != nil {
		t.Fatal(err)
	}
	maps := map[string]bool{}
	for _, f := range b.Features {
		maps[fmt.Sprintf("%p", f.Props)] = true
	}
	if len(maps) > 6 {
		t.Fatalf("%d property maps for %d buildings: want at most one per kind", len(maps), len(b.Features))
	}
}

// Drafts and the unpublished never reach the public zones layer: a zone
// version that is not published stays out, and so do lifted zones.
func TestZonesReadOnlyPublishedActive(t *testing.T) {
	store := demoStore(t, 1000, 3)
	ctx := testCtx(t)
	exec := func(sql string) {
		t.Helper()
		if _, err := store.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// An unpublished zone, and a published zone whose newest published
	// version is a lift.
	exec(`INSERT INTO zones (id, county_id, current_version, status) SELECT 9001, county_id, 1, 'active' FROM zones LIMIT 1`)
	exec(`INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, valid_from, reason)
		SELECT 9001, 1, 'high', 'active', 'designate', 'draft', geom, '{}', 0, 0, 1, '2022-11', '2022-11-20', now(), 'draft' FROM zone_versions LIMIT 1`)
	exec(`UPDATE zone_versions SET valid_to = valid_from + interval '1 day' WHERE zone_id = (SELECT min(zone_id) FROM zone_versions)`)
	exec(`INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, valid_from, reason, published_notice_id)
		SELECT zone_id, 2, level, 'lifted', 'lift', name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, valid_from + interval '1 day', 'lifted', published_notice_id
		FROM zone_versions WHERE zone_id = (SELECT min(zone_id) FROM zone_versions)`)
	src := New(store.Pool, Options{}, quietLog())
	reg, err := src.Region(ctx, "zones", orb.Bound{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Features) != 2 {
		t.Fatalf("zones layer has %d features, want the 2 published active ones", len(reg.Features))
	}
	for _, f := range reg.Features {
		if f.ID == 9001 {
			t.Fatal("an unpublished zone is on the public layer")
		}
	}
}

// The region queries of the layers read by area can use their GIST index.
// The test city is small, so the planner rightly scans some tables whole;
// with sequential scans priced out (in the EXPLAIN's transaction only) the
// plan shows whether the box filter is indexable. On a city of 100,000
// buildings the buildings query takes the index by itself (checked too).
func TestRegionQueriesUseSpatialIndex(t *testing.T) {
	store := demoStore(t, 3000, 0)
	src := New(store.Pool, Options{}, quietLog())
	ctx := testCtx(t)
	var lon, lat float64
	if err := store.Pool.QueryRow(ctx, `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c FROM buildings) s`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		layer, index string
		region       uint8
	}{{"buildings", "buildings_geom", 12}, {"barriers", "barriers_geom", 14}, {"admin", "admin_areas_geom", 14}} {
		sql, bbox, ok := src.RegionSQL(c.layer)
		if !ok || !bbox {
			t.Fatalf("%s: no box query", c.layer)
		}
		b := tiles.TileOf(lon, lat, 16).Parent(c.region).LonLatBound(tiles.Buffer)
		if plan := explain(t, store, sql, b, true); !strings.Contains(plan, `"Index Name": "`+c.index+`"`) {
			t.Errorf("%s: the region query cannot use %s:\n%s", c.layer, c.index, plan)
		}
	}
	// A small box over many buildings: the index by the planner's own choice.
	sql, _, _ := src.RegionSQL("buildings")
	b := tiles.TileOf(lon, lat, 16).LonLatBound(tiles.Buffer)
	if plan := explain(t, store, sql, b, false); !strings.Contains(plan, `"Index Name": "buildings_geom"`) {
		t.Errorf("buildings: a z16 box does not use buildings_geom:\n%s", plan)
	}
}

func explain(t *testing.T, store *postgis.Store, sql string, b orb.Bound, noSeqScan bool) string {
	t.Helper()
	ctx := testCtx(t)
	tx, err := store.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if noSeqScan {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
	}
	var plan string
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, b.Min[0], b.Min[1], b.Max[0], b.Max[1]).Scan(&plan); err != nil {
		t.Fatalf("explain: %v", err)
	}
	return plan
}

// A region read waits no longer than its statement timeout: a table held
// by a lock makes it fail with tiles.ErrTimeout.
func TestRegionStatementTimeout(t *testing.T) {
	store := demoStore(t, 500, 0)
	ctx := testCtx(t)
	src := New(store.Pool, Options{StatementTimeout: 300 * time.Millisecond}, quietLog())
	tx, err := store.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Region(ctx, "buildings", tiles.TileID{Z: 12, X: 3379, Y: 1599}.LonLatBound(0))
	if !errors.Is(err, tiles.ErrTimeout) {
		t.Fatalf("region under a lock: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the read took %v", d)
	}
}

// The watcher reports versions at once, after each NOTIFY, and again after
// its connection is killed (it reconnects and re-reads).
func TestWatchNotifyAndReconnect(t *testing.T) {
	store := pgtest.NewStore(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	src := New(store.Pool, Options{MaxBackoff: 200 * time.Millisecond}, quietLog())
	got := make(chan map[string]int64, 16)
	var mu sync.Mutex
	lost := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Watch(ctx, func(v map[string]int64) { got <- v }, func() { mu.Lock(); lost++; mu.Unlock() })
	}()
	next := func(what string) map[string]int64 {
		t.Helper()
		select {
		case v := <-got:
			return v
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no versions from the watcher", what)
		}
		return nil
	}
	first := next("connect")
	if _, err := store.Pool.Exec(ctx, `WITH u AS (UPDATE layer_versions SET version = version + 1 WHERE layer = 'zones' RETURNING 1)
		SELECT pg_notify($1, '[zones]') FROM u`, postgis.LayersChannel); err != nil {
		t.Fatal(err)
	}
	if v := next("notify"); v["zones"] != first["zones"]+1 {
		t.Fatalf("after a bump: zones %d, want %d", v["zones"], first["zones"]+1)
	}
	// Kill the listening backend; a change made meanwhile is caught up on
	// reconnection.
	if _, err := store.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, ListenerName); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Pool.Exec(ctx, `UPDATE layer_versions SET version = version + 1 WHERE layer = 'buildings'`); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-got:
			if v["buildings"] == first["buildings"]+1 {
				mu.Lock()
				n := lost
				mu.Unlock()
				if n == 0 {
					t.Fatal("reconnected without reporting the loss")
				}
				cancel()
				<-done
				return
			}
		case <-deadline:
			t.Fatal("no versions after the connection was killed")
		}
	}
}
