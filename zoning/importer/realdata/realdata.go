// Package realdata designates and publishes zones on the real OpenStreetMap
// extract of Liechtenstein kept beside the repository
// (../shared/data/osm/), for the tests of other packages that need a real
// import rather than the demo city (the notice addresses, the public lookup,
// the address CSV). Only tests use it.
package realdata

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/importer"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Levels maps Liechtenstein's admin levels: the country, its two
// Wahlkreise, its eleven Gemeinden (zoned as counties).
var Levels = map[int]string{2: "province", 6: "city", 8: "county"}

// PBF is the path of the extract, found from the test's directory upwards
// (the repository root holds go.mod; the data lies beside the repository).
func PBF(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory: cannot find the repository root")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("the real OSM test extract is missing: %v (see ../shared/data/README.md)", err)
	}
	return p
}

// Import loads the extract into s as an OSM import.
func Import(tb testing.TB, ctx context.Context, s *postgis.Store) {
	tb.Helper()
	if _, err := importer.New(s, nil).ImportFile(ctx, PBF(tb), importer.Options{Kind: importer.KindOSM, AdminLevels: Levels}); err != nil {
		tb.Fatalf("import the Liechtenstein extract: %v", err)
	}
}

// Published is what Publish designated and published.
type Published struct {
	// Buildings maps the OSM source ids asked for to building ids.
	Buildings map[string]int64
	// Zones and Notices by county name.
	Zones   map[string]zoning.Zone
	Notices map[string]zoning.Notice
}

// Publish designates one high-risk zone per county holding exactly the
// buildings given by OSM source id ("w3461"), the way a command centre
// does: a confirmed case in the first building, the engine's proposal for
// it, approved by a second expert with the boundary drawn around the
// buildings (a footprint buffer of 0.3 m), then published by a publisher.
func Publish(tb testing.TB, ctx context.Context, s *postgis.Store, zones map[string][]string) Published {
	tb.Helper()
	out := Published{Buildings: map[string]int64{}, Zones: map[string]zoning.Zone{}, Notices: map[string]zoning.Notice{}}
	user := func(name string, role zoning.Role) zoning.User {
		u, err := s.CreateUser(ctx, zoning.Origin{Actor: zoning.Principal{Username: "test", Role: zoning.RoleAdmin}},
			zoning.NewUser{Username: name, DisplayName: name, Role: role})
		if err != nil {
			tb.Fatalf("create user %s: %v", name, err)
		}
		return u
	}
	as := func(u zoning.User) zoning.Origin { return zoning.Origin{Actor: u.Principal(zoning.ViaSession)} }
	proposer, approver, publisher := user("li.proposer", zoning.RoleExpert), user("li.approver", zoning.RoleExpert),
		user("li.publisher", zoning.RolePublisher)
	names := make([]string, 0, len(zones))
	for name := range zones {
		names = append(names, name)
	}
	slices.Sort(names)
	day := time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, name := range names {
		sids := zones[name]
		var county int64
		if err := s.Pool.QueryRow(ctx, `SELECT id FROM admin_areas WHERE level = 'county' AND name = $1`, name).Scan(&county); err != nil {
			tb.Fatalf("county %s: %v", name, err)
		}
		var ids []int64
		for _, sid := range sids {
			var id, in int64
			if err := s.Pool.QueryRow(ctx, `SELECT id, coalesce(county_id, 0) FROM buildings WHERE source = 'osm' AND source_id = $1`, sid).Scan(&id, &in); err != nil {
				tb.Fatalf("building %s: %v", sid, err)
			}
			if in != county {
				tb.Fatalf("building %s is in county %d, not %s (%d)", sid, in, name, county)
			}
			out.Buildings[sid] = id
			ids = append(ids, id)
		}
		if _, err := s.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
			VALUES ($1, $2, 'confirmed', $3, $4)`, fmt.Sprintf("LI-%d", i+1), county, day, ids[0]); err != nil {
			tb.Fatalf("case in %s: %v", name, err)
		}
		p, err := zoning.Propose(ctx, postgis.Proposals{S: s}, zoning.ProposeRequest{CountyID: county, At: day.Add(20 * time.Hour), Now: time.Now()}, &proposer.ID)
		if err != nil || len(p.IDs) == 0 {
			tb.Fatalf("propose in %s: %v (%d proposals)", name, err, len(p.IDs))
		}
		var drawn string
		if err := s.Pool.QueryRow(ctx, `SELECT ST_AsGeoJSON(ST_Union(ST_Buffer(geom::geography, 0.3)::geometry), 7)
			FROM buildings WHERE id = ANY ($1)`, ids).Scan(&drawn); err != nil {
			tb.Fatalf("draw the zone of %s: %v", name, err)
		}
		z := postgis.Zones{S: s}
		zn, err := z.Approve(ctx, as(approver), p.IDs[0], zoning.ApproveRequest{Reason: "expert panel: the buildings of the cluster",
			Geometry: []byte(drawn)})
		if err != nil {
			tb.Fatalf("approve in %s: %v", name, err)
		}
		v, err := z.Version(ctx, zn.ID, zn.CurrentVersion)
		if err != nil {
			tb.Fatal(err)
		}
		got := slices.Clone(v.BuildingIDs)
		slices.Sort(got)
		want := slices.Clone(ids)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			tb.Fatalf("zone of %s holds buildings %v, want %v", name, got, want)
		}
		out.Zones[name] = zn
		ns, err := postgis.Notices{S: s}.Publish(ctx, as(publisher), zoning.PublishRequest{CountyID: county})
		if err != nil || len(ns) != 1 {
			tb.Fatalf("publish in %s: %v (%d notices)", name, err, len(ns))
		}
		out.Notices[name] = ns[0]
	}
	return out
}
