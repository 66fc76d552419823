package postgis_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// Every collection answers in every output CRS, with and without a time
// filter; pages cut by key join up to the whole collection; counts and
// extents agree with the tables.
func TestExportCollections(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	sum, err := demo.Load(ctx, s, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	if _, err := demo.TellStory(ctx, s, sum); err != nil {
		t.Fatalf("demo story: %v", err)
	}
	ex := postgis.Export{S: s}
	tables := map[string]string{
		"zones":         `SELECT count(*) FROM public_zone_versions WHERE status = 'active'`,
		"zone-versions": `SELECT count(*) FROM notice_zones`,
		"zones-current": `SELECT count(*) FROM zone_versions WHERE valid_to IS NULL AND status = 'active'`,
		"buildings":     `SELECT count(*) FROM buildings`,
		"barriers":      `SELECT count(*) FROM barriers`,
		"notices":       `SELECT count(*) FROM notices`,
		"cases":         `SELECT count(*) FROM cases`,
		"traces":        `SELECT count(*) FROM traces`,
	}
	now := time.Now()
	for _, coll := range postgis.Collections() {
		var want int64
		if err := s.Pool.QueryRow(ctx, tables[coll.ID]).Scan(&want); err != nil {
			t.Fatalf("%s: %v", coll.ID, err)
		}
		for _, crs := range []postgis.OutputCRS{postgis.CRS84, postgis.EPSG4326, postgis.EPSG3857, postgis.EPSG4490} {
			q := postgis.ExportQuery{CRS: crs, Limit: 7, Count: true, Links: true}
			var n int
			info, err := ex.Stream(ctx, coll.ID, q, nil, func(f postgis.Feature) error {
				n++
				if !json.Valid(f.Properties) || (f.Geometry != nil && !json.Valid(f.Geometry)) {
					t.Errorf("%s feature %s: invalid JSON", coll.ID, f.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s crs %d: %v", coll.ID, crs, err)
			}
			if info.Matched != want || n != min(7, int(want)) || info.HasNext != (want > 7) || info.HasPrev {
				t.Errorf("%s crs %d: matched %d (want %d), %d features, next %v prev %v", coll.ID, crs, info.Matched, want, n, info.HasNext, info.HasPrev)
			}
		}
		// Keyset pages join up to the whole collection, each key once.
		seen := map[postgis.Key]bool{}
		var after *postgis.Key
		for {
			info, err := ex.Stream(ctx, coll.ID, postgis.ExportQuery{Limit: 400, After: after, Links: true}, nil, func(f postgis.Feature) error {
				if seen[f.Key] {
					t.Fatalf("%s: key %v twice", coll.ID, f.Key)
				}
				seen[f.Key] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !info.HasNext {
				break
			}
			last := info.Last
			after = &last
		}
		if int64(len(seen)) != want {
			t.Errorf("%s: pages hold %d features, want %d", coll.ID, len(seen), want)
		}
		if coll.Temporal {
			if _, err := ex.Stream(ctx, coll.ID, postgis.ExportQuery{Timed: true, From: &now, To: &now}, nil, func(postgis.Feature) error { return nil }); err != nil {
				t.Fatalf("%s at now: %v", coll.ID, err)
			}
		}
		ext, err := ex.Extent(ctx, coll.ID, postgis.ExportQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if want > 0 && coll.ID != "notices" && ext.BBox == nil {
			t.Errorf("%s: no extent", coll.ID)
		}
	}
}
