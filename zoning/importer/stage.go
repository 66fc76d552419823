package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"github.com/riskzone/riskzone/geo"
)

// stageRow is one feature of one layer, as read, before the database has
// judged its geometry. Empty strings and nil pointers are unknown values.
type stageRow struct {
	layer            string
	sourceID         string
	kind             string
	roadClass        string
	name, nameEn     string
	addrDistrict     string
	addrStreet       string
	addrCommunity    string
	addrCompound     string
	addrNumber       string
	floors           *int32
	flats            *int32
	singleUnit       bool
	population       *int32
	buildingRef      string
	number           *int32
	enclosed         *bool
	poorlyVentilated *bool
	geom             orb.Geometry
	// Residential buildings: the strips their units would be (unitsplit.go),
	// and whether the strips are the units themselves.
	unitStrips orb.MultiPolygon
	fills      bool
	unitClips  orb.MultiPolygon // the footprint clipped to each strip, when done in Go
}

// buildingArea is the footprint area in m² for the population estimate:
// orb/geo.Area on a sphere of the WGS 84 equatorial radius, within 1% of the
// spheroid at any latitude, which is far below the estimate's own error.
// Repaired footprints are measured by PostGIS instead (their raw rings may
// cross).
func buildingArea(g orb.Geometry) any {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon:
		return orbgeo.Area(g)
	}
	return nil
}

// stageColumns are the columns of import_stage that COPY fills, in the order
// of stageRow.values.
var stageColumns = []string{
	"seq", "layer", "source_id", "kind", "road_class", "name", "name_en",
	"addr_district", "addr_street", "addr_community", "addr_compound", "addr_number",
	"floors", "flats", "single_unit", "population", "building_ref", "number",
	"enclosed", "poorly_ventilated", "fills", "h3_r11", "area_m2", "wkb", "unit_wkb", "clip_wkb",
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// values encodes the row for COPY: geometry as WKB, and for a building the
// H3 cell of an interior point of its footprint.
func (r *stageRow) values(seq int64) ([]any, error) {
	var g, h3, area, strips, clips any
	if len(r.unitStrips) > 0 {
		b, err := wkb.Marshal(r.unitStrips)
		if err != nil {
			return nil, fmt.Errorf("encode unit strips of %s: %w", r.sourceID, err)
		}
		strips = b
	}
	if len(r.unitClips) > 0 {
		b, err := wkb.Marshal(r.unitClips)
		if err != nil {
			return nil, fmt.Errorf("encode clipped units of %s: %w", r.sourceID, err)
		}
		clips = b
	}
	if r.geom != nil {
		b, err := wkb.Marshal(r.geom)
		if err != nil {
			return nil, fmt.Errorf("encode geometry of %s: %w", r.sourceID, err)
		}
		g = b
		if r.layer == "buildings" {
			area = buildingArea(r.geom)
			if p, ok := interiorPoint(r.geom); ok {
				if c, err := geo.CellR11(p[0], p[1]); err == nil {
					h3 = c
				}
			}
		}
	}
	return []any{
		seq, r.layer, r.sourceID, nullIfEmpty(r.kind), nullIfEmpty(r.roadClass), r.name, r.nameEn,
		r.addrDistrict, r.addrStreet, r.addrCommunity, r.addrCompound, r.addrNumber,
		r.floors, r.flats, r.singleUnit, r.population, nullIfEmpty(r.buildingRef), r.number,
		r.enclosed, r.poorlyVentilated, r.fills, h3, area, g, strips, clips,
	}, nil
}

// interiorPoint returns a point inside a polygonal geometry (of its largest
// polygon): the centroid when it lies inside, else the middle of the widest
// inside stretch of the horizontal line through it. It is what the H3 cell
// of a building is taken from; nothing here needs more precision than a cell.
func interiorPoint(g orb.Geometry) (orb.Point, bool) {
	var poly orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		poly = g
	case orb.MultiPolygon:
		best := -1.0
		for _, p := range g {
			if a := planar.Area(p); a > best {
				best, poly = a, p
			}
		}
	default:
		return orb.Point{}, false
	}
	if len(poly) == 0 || len(poly[0]) < 4 {
		return orb.Point{}, false
	}
	c, _ := planar.CentroidArea(poly)
	if planar.PolygonContains(poly, c) {
		return c, true
	}
	// Crossings of the line y = c.Y with every ring edge, sorted: inside
	// stretches lie between crossings 0-1, 2-3...
	y := c[1]
	var xs []float64
	for _, ring := range poly {
		for i := 0; i+1 < len(ring); i++ {
			a, b := ring[i], ring[i+1]
			if (a[1] > y) != (b[1] > y) {
				xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
			}
		}
	}
	slices.Sort(xs)
	bestW := -1.0
	var best orb.Point
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > bestW {
			bestW, best = w, orb.Point{(xs[i] + xs[i+1]) / 2, y}
		}
	}
	if bestW < 0 {
		return poly[0][0], true
	}
	return best, true
}

// copyBatch is the number of rows handed from the reading goroutine to COPY
// at a time.
const copyBatch = 1024

// copyStage streams the rows that produce sends into import_stage with one
// COPY. produce runs in its own goroutine so that reading the file and
// writing to the database overlap; an error on either side stops both. It
// returns the number of rows copied.
func copyStage(ctx context.Context, tx pgx.Tx, produce func(ctx context.Context, send func(*stageRow) error) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan [][]any, 8)
	done := make(chan struct{})
	var prodErr error
	go func() {
		defer close(done)
		defer close(batches)
		var seq int64
		batch := make([][]any, 0, copyBatch)
		flush := func() error {
			select {
			case batches <- batch:
				batch = make([][]any, 0, copyBatch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		prodErr = produce(ctx, func(r *stageRow) error {
			seq++
			v, err := r.values(seq)
			if err != nil {
				return err
			}
			batch = append(batch, v)
			if len(batch) == copyBatch {
				return flush()
			}
			return nil
		})
		if prodErr == nil && len(batch) > 0 {
			prodErr = flush()
		}
	}()
	var cur [][]any
	next := 0
	n, copyErr := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"}, stageColumns, pgx.CopyFromFunc(func() ([]any, error) {
		for next >= len(cur) {
			b, ok := <-batches
			if !ok {
				<-done
				if prodErr != nil {
					return nil, prodErr
				}
				return nil, nil
			}
			cur, next = b, 0
		}
		next++
		return cur[next-1], nil
	}))
	cancel()
	for range batches {
	}
	<-done
	// The reader's error is the cause; COPY only passed it on.
	if prodErr != nil && !errors.Is(prodErr, context.Canceled) {
		return 0, prodErr
	}
	if copyErr != nil {
		return 0, fmt.Errorf("copy into staging: %w", copyErr)
	}
	if prodErr != nil {
		return 0, prodErr
	}
	return n, nil
}
