package tiles

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"github.com/riskzone/riskzone/zoning"
)

func TestParseTileID(t *testing.T) {
	good := map[[3]string]TileID{
		{"0", "0", "0"}:         {0, 0, 0},
		{"22", "4194303", "1"}:  {22, 4194303, 1},
		{"14", "13516", "6397"}: {14, 13516, 6397},
		{"03", "1", "2"}:        {3, 1, 2},
	}
	for in, want := range good {
		got, err := ParseTileID(in[0], in[1], in[2])
		if err != nil || got != want {
			t.Errorf("ParseTileID%v = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range [][3]string{
		{"23", "0", "0"}, {"1", "2", "0"}, {"1", "0", "2"}, {"-1", "0", "0"}, {"a", "0", "0"}, {"", "0", "0"},
		{"1", "+1", "0"}, {"1", "0", "0.5"}, {"1", "0", " 0"}, {"999999999", "0", "0"}, {"22", "4194304", "0"},
	} {
		if _, err := ParseTileID(in[0], in[1], in[2]); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("ParseTileID%v: %v, want ErrInvalid", in, err)
		}
	}
}

func TestWorldAndTileOf(t *testing.T) {
	for _, c := range []struct {
		lon, lat float64
		z        uint8
		want     TileID
	}{
		{0, 0, 1, TileID{1, 1, 1}},
		{-180, 85.0511, 2, TileID{2, 0, 0}},
		{180, -90, 3, TileID{3, 7, 7}}, // clamped to the last tile
		{117.0, 36.65, 14, TileID{14, 13516, 6397}},
	} {
		if got := TileOf(c.lon, c.lat, c.z); got != c.want {
			t.Errorf("TileOf(%v, %v, %d) = %v, want %v", c.lon, c.lat, c.z, got, c.want)
		}
	}
	x, y := World(117.0, 36.65)
	lon, lat := FromWorld(x, y)
	if math.Abs(lon-117) > 1e-9 || math.Abs(lat-36.65) > 1e-9 {
		t.Fatalf("round trip: %v %v", lon, lat)
	}
	b := TileID{14, 13516, 6397}.LonLatBound(0)
	if !b.Contains(orb.Point{117.0, 36.65}) {
		t.Fatalf("tile bound %v does not hold its point", b)
	}
}

// worldPoly is a lon/lat ring projected to world coordinates.
func worldRing(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		x, y := World(p[0], p[1])
		out[i] = orb.Point{x, y}
	}
	return out
}

func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i := range r {
		out[i] = r[len(r)-1-i]
	}
	return out
}

// Exterior rings come out clockwise in tile space (positive area, y down)
// and holes counter-clockwise, whatever the winding given, clipped or not.
func TestPolygonWinding(t *testing.T) {
	tile := TileOf(117.0, 36.65, 15)
	b := tile.LonLatBound(0)
	cx, cy := (b.Min[0]+b.Max[0])/2, (b.Min[1]+b.Max[1])/2
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	box := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}} // counter-clockwise in lon/lat
	}
	inner := box(cx-w/4, cy-h/4, cx+w/4, cy+h/4)
	hole := box(cx-w/8, cy-h/8, cx+w/8, cy+h/8)
	big := box(cx-w, cy-h/4, cx+w, cy+h/4) // crosses the tile: clipped
	frame := newTileFrame(tile)
	for name, poly := range map[string]orb.Polygon{
		"ccw with cw hole": {worldRing(inner), worldRing(reversed(hole))},
		"cw with ccw hole": {worldRing(reversed(inner)), worldRing(hole)},
		"both ccw":         {worldRing(inner), worldRing(hole)},
		"clipped ccw":      {worldRing(big), worldRing(hole)},
		"clipped cw":       {worldRing(reversed(big)), worldRing(reversed(hole))},
	} {
		for _, simple := range []bool{false, true} {
			g := frame.geometry(poly, poly.Bound(), simple)
			p, ok := g.(orb.Polygon)
			if !ok || len(p) != 2 {
				t.Fatalf("%s: %T %v", name, g, g)
			}
			if a := signedArea(p[0][:len(p[0])-1]); a <= 0 {
				t.Errorf("%s (simplify %v): exterior area %v, want > 0 in tile space", name, simple, a)
			}
			if a := signedArea(p[1][:len(p[1])-1]); a >= 0 {
				t.Errorf("%s (simplify %v): hole area %v, want < 0", name, simple, a)
			}
			for _, r := range p {
				if r[0] != r[len(r)-1] {
					t.Errorf("%s: ring not closed", name)
				}
				for _, pt := range r {
					if pt[0] < -Buffer || pt[0] > Extent+Buffer || pt[1] < -Buffer || pt[1] > Extent+Buffer || pt[0] != math.Round(pt[0]) {
						t.Fatalf("%s: point %v outside the buffered tile or not integer", name, pt)
					}
				}
			}
		}
	}
	// A polygon smaller than a tile unit disappears.
	tiny := box(cx, cy, cx+w/1e6, cy+h/1e6)
	if g := frame.geometry(orb.Polygon{worldRing(tiny)}, worldRing(tiny).Bound(), false); g != nil {
		t.Fatalf("a sub-unit polygon survived: %v", g)
	}
}

// Collinear and repeated points are dropped (a building's unit corners on
// its long sides).
func TestRoundRingDropsCollinear(t *testing.T) {
	r := orb.Ring{{0, 0}, {10, 0}, {20, 0}, {20, 0}, {20, 10}, {10, 10}, {0, 10}, {0, 5}, {0, 0}}
	got, area := roundRing(r, make([]orb.Point, 0, len(r)+1))
	if len(got) != 5 || area != 400 {
		t.Fatalf("ring %v area %v, want the 4 corners closed and area 400", got, area)
	}
}

func TestSizedCacheCapAndSecondChance(t *testing.T) {
	c := newSizedCache[int, string](1000, 1, func(k int) uint64 { return uint64(k) })
	for i := 0; i < 10; i++ {
		c.Put(i, fmt.Sprint(i), 100)
	}
	c.Get(0) // referenced: survives the next eviction round
	c.Put(10, "10", 100)
	if _, ok := c.Get(0); !ok {
		t.Fatal("a referenced entry was evicted first")
	}
	if _, ok := c.Get(1); ok {
		t.Fatal("the oldest unreferenced entry was kept")
	}
	for i := 11; i < 100; i++ {
		c.Put(i, fmt.Sprint(i), 100)
	}
	if n, b := c.Stats(); b > 1000 || n > 10 {
		t.Fatalf("cache holds %d entries, %d bytes: over its cap", n, b)
	}
	c.Put(1000, "too big", 2000)
	if _, ok := c.Get(1000); ok {
		t.Fatal("an entry over the cap was stored")
	}
	c.DeleteFunc(func(k int, _ string) bool { return k%2 == 0 })
	for i := 90; i < 100; i += 2 {
		if _, ok := c.Get(i); ok {
			t.Fatalf("%d survived DeleteFunc", i)
		}
	}
	off := newSizedCache[int, string](0, 4, func(k int) uint64 { return uint64(k) })
	off.Put(1, "x", 1)
	if _, ok := off.Get(1); ok {
		t.Fatal("a cache of no bytes kept an entry")
	}
}

func TestValidateTagsAndSets(t *testing.T) {
	sets := Sets(Catalog())
	names := map[string]*Set{}
	for _, s := range sets {
		names[s.Name] = s
	}
	if pub := names[SetPublic]; pub.Restricted || len(pub.Layers) != 4 {
		t.Fatalf("public set %+v", pub)
	}
	for _, l := range names[SetPublic].Layers {
		if l.Restricted {
			t.Fatalf("public set has restricted layer %s", l.Name)
		}
	}
	for _, n := range []string{"proposals", "spread", "cases", SetExpert} {
		if !names[n].Restricted {
			t.Fatalf("%s is not restricted", n)
		}
	}
	for _, l := range Catalog() {
		if l.RegionZoom > l.MinZoom {
			t.Fatalf("%s: region zoom %d deeper than min zoom %d", l.Name, l.RegionZoom, l.MinZoom)
		}
	}
	if got := tagOf(names[SetPublic], []int64{3, 4, 5, 6}); got != "3-4-5-6" {
		t.Fatalf("tag %s", got)
	}
}

// syntheticRegion is a grid of small rotated buildings around (lon, lat),
// from a fixed seed.
func syntheticRegion(n int, seed uint64) *region {
	r := rand.New(rand.NewPCG(seed, 1))
	reg := &region{version: 1}
	props := geojson.Properties{"kind": "residential"}
	index := map[uintptr]uint32{}
	side := int(math.Sqrt(float64(n)))
	for i := 0; i < n; i++ {
		lon := 117.0 + float64(i%side)*0.0006 + r.Float64()*0.0001
		lat := 36.65 + float64(i/side)*0.0005 + r.Float64()*0.0001
		a := r.Float64() * math.Pi
		dx, dy := 0.0003*math.Cos(a), 0.0003*math.Sin(a)
		ex, ey := -0.0001*math.Sin(a), 0.0001*math.Cos(a)
		ring := orb.Ring{{lon, lat}, {lon + dx, lat + dy}, {lon + dx + ex, lat + dy + ey}, {lon + ex, lat + ey}, {lon, lat}}
		if err := reg.add(uint64(i+1), toWorld(orb.MultiPolygon{{ring}}), 13, MaxZoom, props, index); err != nil {
			panic(err)
		}
	}
	reg.index()
	return reg
}

// BenchmarkRenderBuildings renders z14-z16 tiles of a synthetic city of
// 20,000 buildings: the cold path's CPU cost without the database.
func BenchmarkRenderBuildings(b *testing.B) {
	reg := syntheticRegion(20000, 1)
	l := Catalog()[2]
	for _, z := range []uint8{14, 15, 16} {
		b.Run(fmt.Sprintf("z=%d", z), func(b *testing.B) {
			base := TileOf(117.02, 36.66, z)
			b.ReportAllocs()
			bytes := 0
			for i := 0; i < b.N; i++ {
				t := TileID{Z: z, X: base.X + uint32(i%3), Y: base.Y + uint32(i/3%3)}
				f := newTileFrame(t)
				ml, _ := renderLayer(l, reg, &f)
				if ml == nil {
					continue
				}
				body, err := mvt.Marshal(mvt.Layers{ml})
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(body)
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "tile-bytes")
		})
	}
}

// A region keeps geometry in flat arrays; what it gives back is what it was
// given.
func TestRegionGeometryRoundTrip(t *testing.T) {
	reg := &region{}
	index := map[uintptr]uint32{}
	sq := func(x, y, d float64) orb.Ring {
		return orb.Ring{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}
	}
	shared := geojson.Properties{"kind": "road"}
	geoms := []orb.Geometry{
		orb.Point{0.1, 0.2},
		orb.MultiPoint{{0.1, 0.2}, {0.3, 0.4}},
		orb.MultiLineString{{{0, 0}, {1, 1}}, {{2, 2}, {3, 3}, {4, 4}}},
		orb.MultiPolygon{{sq(0, 0, 10), sq(1, 1, 2), sq(5, 5, 2)}, {sq(20, 20, 5)}},
	}
	for i, g := range geoms {
		if err := reg.add(uint64(i+1), g, 0, MaxZoom, shared, index); err != nil {
			t.Fatal(err)
		}
	}
	reg.index()
	if len(reg.props) != 1 {
		t.Fatalf("%d property maps for one shared map", len(reg.props))
	}
	for i := range reg.feats {
		f := &reg.feats[i]
		got := reg.geometry(f)
		want := geoms[f.id-1]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("feature %d: got %v, want %v", f.id, got, want)
		}
	}
}
