package osm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	posm "github.com/paulmach/osm"
)

// liechtenstein returns the bytes of the real test extract, found beside the
// repository as ../shared/data/osm/ (the repository root is where go.mod is).
func liechtenstein(t *testing.T) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory: cannot find the repository root")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the real OSM test extract is missing: %v (expected at ../shared/data/osm/ beside the repository, see ../shared/data/README.md)", err)
	}
	return b
}

func buildingsAndWater(t posm.Type, _ int64, tags posm.Tags) Shape {
	switch {
	case t == posm.TypeNode && tags.Find("amenity") != "":
		return Point
	case t == posm.TypeNode:
		return 0
	case t == posm.TypeRelation && tags.Find("type") != "multipolygon":
		return 0
	}
	if tags.Find("building") != "" || tags.Find("natural") == "water" {
		return Area
	}
	if t == posm.TypeWay && tags.Find("waterway") != "" {
		return Line
	}
	return 0
}

type collected struct {
	features []*Feature
	problems []Problem
	progress []Progress
}

func readAll(t *testing.T, b []byte, classify Classifier) (*collected, Stats, error) {
	t.Helper()
	c := &collected{}
	st, err := Read(context.Background(), bytes.NewReader(b), int64(len(b)), Options{
		Classify: classify,
		Procs:    2,
		Problem:  func(p Problem) { c.problems = append(c.problems, p) },
		Progress: func(p Progress) { c.progress = append(c.progress, p) },
	}, func(f *Feature) error {
		c.features = append(c.features, f)
		return nil
	})
	return c, st, err
}

func TestReadLiechtenstein(t *testing.T) {
	c, st, err := readAll(t, liechtenstein(t), buildingsAndWater)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range c.features {
		key := string(f.Type)
		switch g := f.Geometry.(type) {
		case orb.Point:
			key += " point"
		case orb.LineString:
			key += " line"
		case orb.Polygon:
			key += " polygon"
			if g[0][0] != g[0][len(g[0])-1] {
				t.Fatalf("%s: ring not closed", f.SourceID())
			}
		case orb.MultiPolygon:
			key += " multipolygon"
		}
		count[key]++
	}
	// osmium tags-filter -R: 3,722 ways tagged building, 19 natural=water
	// (all closed and complete in this extract), 76 waterway ways, 244 amenity
	// nodes, and two multipolygon relations (a building, a lake).
	want := map[string]int{"way polygon": 3722 + 19, "way line": 76, "node point": 244, "relation multipolygon": 2}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d, want %d (all: %v; problems: %v)", k, count[k], n, count, c.problems)
		}
	}
	if len(c.problems) != 0 {
		t.Errorf("problems: %v", c.problems)
	}
	if st.Relations != 113 {
		t.Errorf("relations seen: %d, want 113", st.Relations)
	}
	// Only the nodes of wanted ways are stored, not all 65,733.
	if st.StoredNodes == 0 || st.StoredNodes > 40000 {
		t.Errorf("stored nodes: %d", st.StoredNodes)
	}
	last := c.progress[len(c.progress)-1]
	if last.Pass != 3 || last.BytesRead != int64(len(liechtenstein(t))) || last.Features != int64(len(c.features)) {
		t.Errorf("last progress %+v", last)
	}
}

func TestReadRefusesBrokenFiles(t *testing.T) {
	b := liechtenstein(t)
	corrupt := bytes.Clone(b)
	for i := len(b) / 2; i < len(b)/2+64; i++ {
		corrupt[i] ^= 0x5a
	}
	tests := map[string][]byte{
		"empty":               nil,
		"truncated in half":   b[:len(b)/2],
		"truncated near end":  b[:len(b)-100],
		"truncated in header": b[:30],
		"corrupted":           corrupt,
		"not OSM":             []byte(`{"type":"FeatureCollection","features":[]}`),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			c, _, err := readAll(t, data, buildingsAndWater)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Read: %v, want ErrFormat", err)
			}
			// Nothing is emitted before the first pass has read the whole file.
			if len(c.features) != 0 {
				t.Fatalf("%d features emitted from a broken file", len(c.features))
			}
		})
	}
}

// A small OSM XML file: a multipolygon building drawn with three unordered
// ways (one reversed) and an inner courtyard; a line with a node missing from
// the extract; an area way with a node missing; an open "area".
const smallXML = `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="47.0" lon="9.0"/>
  <node id="2" lat="47.0" lon="9.001"/>
  <node id="3" lat="47.001" lon="9.001"/>
  <node id="4" lat="47.001" lon="9.0"/>
  <node id="5" lat="47.0003" lon="9.0003"/>
  <node id="6" lat="47.0003" lon="9.0007"/>
  <node id="7" lat="47.0007" lon="9.0007"/>
  <node id="8" lat="47.0007" lon="9.0003"/>
  <node id="9" lat="47.002" lon="9.002"><tag k="amenity" v="cafe"/></node>
  <way id="10"><nd ref="3"/><nd ref="4"/></way>
  <way id="11"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
  <way id="12"><nd ref="1"/><nd ref="4"/></way>
  <way id="13"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
  <way id="14"><nd ref="1"/><nd ref="99"/><nd ref="3"/><tag k="waterway" v="stream"/></way>
  <way id="15"><nd ref="1"/><nd ref="2"/><nd ref="98"/><nd ref="1"/><tag k="building" v="yes"/></way>
  <way id="16"><nd ref="5"/><nd ref="6"/><nd ref="7"/><tag k="building" v="yes"/></way>
  <relation id="20">
    <member type="way" ref="10" role="outer"/>
    <member type="way" ref="13" role="inner"/>
    <member type="way" ref="11" role="outer"/>
    <member type="way" ref="12" role=""/>
    <member type="node" ref="9" role="label"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="apartments"/>
  </relation>
  <relation id="21">
    <member type="way" ref="11" role="outer"/>
    <member type="way" ref="77" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="natural" v="water"/>
  </relation>
</osm>`

func TestReadXMLMultipolygonAndProblems(t *testing.T) {
	c, _, err := readAll(t, []byte(smallXML), buildingsAndWater)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Feature{}
	for _, f := range c.features {
		byID[f.SourceID()] = f
	}
	if len(byID) != 3 {
		t.Fatalf("features %v, want n9, w14, r20", keys(byID))
	}
	if p, ok := byID["n9"].Geometry.(orb.Point); !ok || p != (orb.Point{9.002, 47.002}) {
		t.Errorf("n9 = %v", byID["n9"].Geometry)
	}
	if l, ok := byID["w14"].Geometry.(orb.LineString); !ok || len(l) != 2 {
		t.Errorf("w14 = %v, want the line without the missing node", byID["w14"].Geometry)
	}
	mp, ok := byID["r20"].Geometry.(orb.MultiPolygon)
	if !ok || len(mp) != 1 || len(mp[0]) != 2 {
		t.Fatalf("r20 = %v, want one polygon with one hole", byID["r20"].Geometry)
	}
	if byID["r20"].Tags.Find("building") != "apartments" {
		t.Errorf("r20 tags %v", byID["r20"].Tags)
	}
	var reasons []string
	for _, p := range c.problems {
		reasons = append(reasons, p.SourceID()+": "+p.Reason)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"w15: area way with 1 of 4 nodes missing", "w16: area way is not closed", "r21: member way 77 is missing"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems:\n%s\nwant one starting %q", all, want)
		}
	}
}

func keys(m map[string]*Feature) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
