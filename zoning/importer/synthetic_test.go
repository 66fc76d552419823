package importer

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// synthCity describes a synthetic city written as OSM XML: n buildings laid
// out in blocks of 4 × 5 slabs, a road between blocks, a county boundary
// around it all, and a shop every 50 buildings. The blocks are not written
// as compounds (landuse=residential) and there are no communities: every
// building's area lookup finds the county only. Everything is a pure
// function of n and the seed, so runs repeat.
type synthCity struct {
	n    int
	seed uint64
	cols int // compounds per row
}

const (
	synthLon0, synthLat0 = 116.30, 39.80
	slabsX, slabsY       = 4, 5 // slabs per compound
	compoundW, compoundH = 260.0, 200.0
	roadGap              = 20.0
)

func newSynthCity(n int, seed uint64) synthCity {
	compounds := (n + slabsX*slabsY - 1) / (slabsX * slabsY)
	return synthCity{n: n, seed: seed, cols: int(math.Ceil(math.Sqrt(float64(compounds))))}
}

// lonLat maps metres east/north of the origin to a coordinate.
func (c synthCity) lonLat(x, y float64) (lon, lat float64) {
	return synthLon0 + x/(111319.49*math.Cos(synthLat0*math.Pi/180)), synthLat0 + y/110574.0
}

// building returns the corners (metres) of building i and its tags.
func (c synthCity) building(i int) ([][2]float64, [][2]string) {
	r := rand.New(rand.NewPCG(c.seed, uint64(i)))
	comp, slab := i/(slabsX*slabsY), i%(slabsX*slabsY)
	cx := float64(comp%c.cols) * (compoundW + roadGap)
	cy := float64(comp/c.cols) * (compoundH + roadGap)
	x := cx + 10 + float64(slab%slabsX)*62
	y := cy + 10 + float64(slab/slabsX)*38
	w := 40 + r.Float64()*18 // 40-58 m long
	h := 12 + r.Float64()*3
	var pts [][2]float64
	if r.IntN(5) == 0 { // an L
		pts = [][2]float64{{x, y}, {x + w, y}, {x + w, y + h}, {x + 14, y + h}, {x + 14, y + h + 9}, {x, y + h + 9}}
	} else {
		pts = [][2]float64{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}
	}
	tags := [][2]string{{"building", "residential"}}
	switch r.IntN(4) {
	case 0:
		tags = [][2]string{{"building", "apartments"}, {"building:levels", strconv.Itoa(6 + r.IntN(25))}}
	case 1:
		tags = append(tags, [2]string{"building:levels", strconv.Itoa(3 + r.IntN(4))}, [2]string{"building:flats", strconv.Itoa(12 + r.IntN(60))})
	case 2:
		tags = [][2]string{{"building", "yes"}}
	}
	tags = append(tags, [2]string{"addr:housenumber", strconv.Itoa(slab + 1)})
	return pts, tags
}

func (c synthCity) rows() int {
	compounds := (c.n + slabsX*slabsY - 1) / (slabsX * slabsY)
	return (compounds + c.cols - 1) / c.cols
}

// write writes the city as OSM XML: nodes, then ways, then relations, each
// sorted by id, as osmium and the PBF writers expect.
func (c synthCity) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, `<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintln(bw, `<osm version="0.6" generator="riskzone synthetic city">`)
	node := func(id int, x, y float64, tags ...[2]string) {
		lon, lat := c.lonLat(x, y)
		if len(tags) == 0 {
			fmt.Fprintf(bw, "  <node id=\"%d\" version=\"1\" lat=\"%.7f\" lon=\"%.7f\"/>\n", id, lat, lon)
			return
		}
		fmt.Fprintf(bw, "  <node id=\"%d\" version=\"1\" lat=\"%.7f\" lon=\"%.7f\">", id, lat, lon)
		for _, t := range tags {
			fmt.Fprintf(bw, "<tag k=%q v=%q/>", t[0], t[1])
		}
		fmt.Fprintln(bw, "</node>")
	}
	// Node ids: building i has ids 10*i+1..10*i+6; roads, boundaries and shops follow.
	for i := 0; i < c.n; i++ {
		pts, _ := c.building(i)
		for k, p := range pts {
			node(10*i+1+k, p[0], p[1])
		}
	}
	base := 10*c.n + 10
	width := float64(c.cols) * (compoundW + roadGap)
	height := float64(c.rows()) * (compoundH + roadGap)
	// Road nodes: a vertical road left of each compound column and a
	// horizontal one below each row, with a node at every crossing.
	nx, ny := c.cols+1, c.rows()+1
	crossing := func(ix, iy int) int { return base + iy*nx + ix }
	for iy := 0; iy < ny; iy++ {
		for ix := 0; ix < nx; ix++ {
			node(crossing(ix, iy), float64(ix)*(compoundW+roadGap)-roadGap/2, float64(iy)*(compoundH+roadGap)-roadGap/2)
		}
	}
	bnd := base + nx*ny + 10 // the county's corners
	corners := [][2]float64{{-100, -100}, {width + 100, -100}, {width + 100, height + 100}, {-100, height + 100}}
	for k, p := range corners {
		node(bnd+k, p[0], p[1])
	}
	shops := bnd + 10
	for i := 0; i < c.n; i += 50 {
		pts, _ := c.building(i)
		node(shops+i/50, pts[0][0]+5, pts[0][1]-4, [2]string{"shop", "convenience"}, [2]string{"name", "店" + strconv.Itoa(i/50)})
	}
	// Ways.
	for i := 0; i < c.n; i++ {
		pts, tags := c.building(i)
		fmt.Fprintf(bw, "  <way id=\"%d\" version=\"1\">", i+1)
		for k := range pts {
			fmt.Fprintf(bw, "<nd ref=\"%d\"/>", 10*i+1+k)
		}
		fmt.Fprintf(bw, "<nd ref=\"%d\"/>", 10*i+1)
		for _, t := range tags {
			fmt.Fprintf(bw, "<tag k=%q v=%q/>", t[0], t[1])
		}
		fmt.Fprintln(bw, "</way>")
	}
	wid := c.n + 10
	road := func(class string, refs []int) {
		fmt.Fprintf(bw, "  <way id=\"%d\" version=\"1\">", wid)
		for _, r := range refs {
			fmt.Fprintf(bw, "<nd ref=\"%d\"/>", r)
		}
		fmt.Fprintf(bw, "<tag k=\"highway\" v=%q/></way>\n", class)
		wid++
	}
	for ix := 0; ix < nx; ix++ {
		var refs []int
		for iy := 0; iy < ny; iy++ {
			refs = append(refs, crossing(ix, iy))
		}
		road([]string{"secondary", "residential", "residential", "tertiary"}[ix%4], refs)
	}
	for iy := 0; iy < ny; iy++ {
		var refs []int
		for ix := 0; ix < nx; ix++ {
			refs = append(refs, crossing(ix, iy))
		}
		road([]string{"primary", "residential", "residential", "tertiary"}[iy%4], refs)
	}
	ring := wid
	fmt.Fprintf(bw, "  <way id=\"%d\" version=\"1\"><nd ref=\"%d\"/><nd ref=\"%d\"/></way>\n", ring, bnd, bnd+1)
	fmt.Fprintf(bw, "  <way id=\"%d\" version=\"1\"><nd ref=\"%d\"/><nd ref=\"%d\"/><nd ref=\"%d\"/><nd ref=\"%d\"/></way>\n", ring+1, bnd+1, bnd+2, bnd+3, bnd)
	fmt.Fprintf(bw, "  <relation id=\"1\" version=\"1\"><member type=\"way\" ref=\"%d\" role=\"outer\"/><member type=\"way\" ref=\"%d\" role=\"outer\"/>"+
		"<tag k=\"type\" v=\"boundary\"/><tag k=\"boundary\" v=\"administrative\"/><tag k=\"admin_level\" v=\"6\"/><tag k=\"name\" v=\"合成区\"/></relation>\n", ring+1, ring)
	fmt.Fprintln(bw, "</osm>")
	return bw.Flush()
}

// writeSynthetic writes a city of n buildings to dir as .osm and converts it
// to .osm.pbf with osmium; it returns the PBF's path.
func writeSynthetic(t testing.TB, dir string, n int) string {
	t.Helper()
	xml := filepath.Join(dir, fmt.Sprintf("city-%d.osm", n))
	f, err := os.Create(xml)
	if err != nil {
		t.Fatal(err)
	}
	if err := newSynthCity(n, 1).write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pbf := filepath.Join(dir, fmt.Sprintf("city-%d.osm.pbf", n))
	osmium(t, "cat", "-O", "-o", pbf, xml)
	return pbf
}

// TestSyntheticCityImports checks the benchmark's generator: a small city
// imports with the buildings, roads, shops and county it was written with.
// With RISKZONE_SYNTH_OUT=DIR (and RISKZONE_SYNTH_BUILDINGS=N, default
// 1,000,000) it also leaves a city of N buildings in DIR for
// bench/import.sh.
func TestSyntheticCityImports(t *testing.T) {
	const n = 500
	pbf := writeSynthetic(t, t.TempDir(), n)
	im, s := newOwnerImporter(t)
	schema := tableDefinitions(t, s)
	// Bulk mode (indexes and foreign keys dropped and rebuilt) from 100 rows.
	sum := importOK(t, im, pbf, Options{Kind: KindOSM, BulkRows: 100})
	if !sum.Bulk {
		t.Error("bulk mode not used")
	}
	if got := tableDefinitions(t, s); got != schema {
		t.Errorf("indexes and constraints after a bulk load:\n%s\nwant:\n%s", got, schema)
	}
	c := newSynthCity(n, 1)
	roads := int64(c.cols + 1 + c.rows() + 1)
	if b := sum.LayerCounts("buildings"); b.Added != n || b.Skipped != 0 {
		t.Errorf("buildings %+v, want %d added", b, n)
	}
	if r := sum.LayerCounts("barriers"); r.Added != roads {
		t.Errorf("barriers %+v, want %d roads", r, roads)
	}
	if p := sum.LayerCounts("places"); p.Added != n/50 {
		t.Errorf("places %+v, want %d shops", p, n/50)
	}
	if got := count(t, s, "SELECT count(*) FROM buildings WHERE county_id = (SELECT id FROM admin_areas WHERE name = '合成区')"); got != n {
		t.Errorf("%d buildings in the county, want %d", got, n)
	}
	if got := count(t, s, "SELECT count(*) FROM units"); got < n {
		t.Errorf("%d units for %d slabs of 40-58 m", got, n)
	}
	if out := os.Getenv("RISKZONE_SYNTH_OUT"); out != "" {
		big := 1000000
		if v := os.Getenv("RISKZONE_SYNTH_BUILDINGS"); v != "" {
			var err error
			if big, err = strconv.Atoi(v); err != nil || big < 1 {
				t.Fatalf("RISKZONE_SYNTH_BUILDINGS=%q", v)
			}
		}
		t.Logf("wrote %s", writeSynthetic(t, out, big))
	}
}

// tableDefinitions lists the indexes and constraints of buildings and
// units, and the foreign keys that reference them.
func tableDefinitions(t testing.TB, s *postgis.Store) string {
	t.Helper()
	var out string
	err := s.Pool.QueryRow(ctxT(t), `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT indexdef AS d FROM pg_indexes WHERE tablename IN ('buildings', 'units')
		UNION ALL
		SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
		FROM pg_constraint WHERE conrelid IN ('buildings'::regclass, 'units'::regclass)
		   OR confrelid IN ('buildings'::regclass, 'units'::regclass)) x`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkImportOSM imports synthetic cities of growing size into a fresh
// database each time, and reports buildings per second.
func BenchmarkImportOSM(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			pbf := writeSynthetic(b, b.TempDir(), n)
			var secs float64
			for b.Loop() {
				b.StopTimer()
				im, _ := newImporter(b)
				b.StartTimer()
				sum, err := im.ImportFile(ctxT(b), pbf, Options{Kind: KindOSM})
				if err != nil {
					b.Fatal(err)
				}
				secs += sum.Seconds
			}
			b.ReportMetric(float64(n*b.N)/secs, "buildings/s")
		})
	}
}
