package geojson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/geo"
)

func readAll(t *testing.T, s string) ([]*Feature, error) {
	t.Helper()
	r := NewReader(strings.NewReader(s))
	var out []*Feature
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

const good = `{
  "type": "FeatureCollection",
  "bbox": [9.0, 47.0, 9.1, 47.1],
  "features": [
    {"type": "Feature", "id": "b1",
     "properties": {"name": "楼 1", "floors": 6, "pop": 120.5, "nested": {"a": [1, 2]}},
     "geometry": {"type": "Polygon", "coordinates": [[[9.0, 47.0], [9.001, 47.0], [9.001, 47.001], [9.0, 47.0]]]}},
    {"type": "Feature", "id": 7, "properties": null, "geometry": {"type": "Point", "coordinates": [9.05, 47.05, 420]}},
    {"type": "Feature", "properties": {}, "geometry": null},
    {"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString", "coordinates": [[[9, 47], [9.1, 47.1]], [[9, 47.1], [9.1, 47]]]}},
    {"type": "Feature", "properties": {}, "geometry": {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [9, 47]}]}}
  ],
  "x-foreign": {"deep": [[{"a": 1}]]}
}`

func TestReadGood(t *testing.T) {
	fs, err := readAll(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 5 {
		t.Fatalf("%d features, want 5", len(fs))
	}
	if fs[0].ID != "b1" || fs[1].ID != "7" || fs[2].ID != "" {
		t.Errorf("ids %q %q %q", fs[0].ID, fs[1].ID, fs[2].ID)
	}
	if fs[0].Properties["name"] != "楼 1" || fs[0].Properties["floors"] != json.Number("6") {
		t.Errorf("properties %v", fs[0].Properties)
	}
	if p, ok := fs[0].Geometry.(orb.Polygon); !ok || len(p[0]) != 4 {
		t.Errorf("geometry 0: %v", fs[0].Geometry)
	}
	if fs[1].Geometry != (orb.Point{9.05, 47.05}) {
		t.Errorf("geometry 1: %v (altitude dropped)", fs[1].Geometry)
	}
	if fs[2].Geometry != nil {
		t.Errorf("geometry 2: %v, want nil", fs[2].Geometry)
	}
	if fs[0].Line != 5 || fs[1].Line != 8 || fs[4].Index != 4 {
		t.Errorf("lines %d %d, index %d", fs[0].Line, fs[1].Line, fs[4].Index)
	}
}

func TestReadErrorsSayWhere(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		cause   error
		line    int
		col     int
		feature int
		text    string
	}{
		{"empty", "", ErrEmpty, 1, 1, -1, "empty"},
		{"white space only", "  \n  ", ErrEmpty, 1, 1, -1, "empty"},
		{"trailing comma in properties", "{\"type\":\"FeatureCollection\",\"features\":[\n" +
			"{\"type\":\"Feature\",\"properties\":{},\"geometry\":null},\n" +
			"{\"type\":\"Feature\",\"properties\":{\"a\":1,},\"geometry\":null}]}", ErrSyntax, 3, 39, 1, "invalid character '}'"},
		{"missing comma between features", "{\"type\":\"FeatureCollection\",\"features\":[\n" +
			"{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}\n" +
			"  {\"type\":\"Feature\"}]}", ErrSyntax, 3, 3, 1, "expected comma after array element"},
		{"bad top-level token", `{"type":"FeatureCollection" "features":[]}`, ErrSyntax, 1, 29, -1, "after object key:value pair"},
		{"truncated", "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"prop", ErrSyntax, 2, 24, 0, "truncated"},
		{"not an object", `[1, 2]`, ErrStructure, 1, 1, -1, "top level must be an object"},
		{"a Feature alone", `{"type":"Feature","properties":{},"geometry":null}`, ErrStructure, 1, 2, -1, `type is "Feature"`},
		{"no features", `{"type":"FeatureCollection"}`, ErrStructure, 1, 29, -1, "no \"features\""},
		{"feature of wrong type", `{"type":"FeatureCollection","features":[{"type":"Point","coordinates":[1,2]}]}`, ErrStructure, 1, 41, 0, `want "Feature"`},
		{"crs EPSG:3857", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}`, ErrCRS, 1, 29, -1, "EPSG::3857"},
		{"crs linked", `{"type":"FeatureCollection","crs":{"type":"link","properties":{"href":"x"}},"features":[]}`, ErrCRS, 1, 29, -1, "crs"},
		{"longitude out of range", `{"type":"FeatureCollection","features":[{"type":"Feature","id":"p","properties":{},"geometry":{"type":"Point","coordinates":[181,47]}}]}`, geo.ErrCoordinate, 1, 41, 0, "rule coordinate-range"},
		{"latitude out of range in a hole", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0,0],[0.5,0],[0.5,-90.5],[0,0]]]}}]}`, geo.ErrCoordinate, 1, 41, 0, "ring 1, position 2"},
		{"open ring", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}]}`, nil, 1, 41, 0, "rule ring-closed"},
		{"position of one number", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1]]}}]}`, ErrStructure, 1, 41, 0, "position 1: position has 1 number"},
		{"coordinates of the wrong type", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":["a","b"]}}]}`, nil, 1, 41, 0, "cannot unmarshal string"},
		{"unknown geometry", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Circle","coordinates":[0,0]}}]}`, ErrStructure, 1, 41, 0, `unknown geometry type "Circle"`},
		{"data after the end", `{"type":"FeatureCollection","features":[]} {}`, ErrSyntax, 1, 43, -1, "after the FeatureCollection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("cause: %v, want %v", err, tt.cause)
			}
			if e.Line != tt.line || e.Column != tt.col || e.Feature != tt.feature {
				t.Errorf("at line %d column %d feature %d (%v), want line %d column %d feature %d", e.Line, e.Column, e.Feature, err, tt.line, tt.col, tt.feature)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("message %q does not contain %q", err.Error(), tt.text)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d, column %d", tt.line, tt.col)) {
				t.Errorf("message %q does not name the line and column", err.Error())
			}
		})
	}
}

func TestReadAcceptsWGS84Names(t *testing.T) {
	for _, name := range []string{"urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"} {
		in := `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"` + name + `"}},"features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}]}`
		fs, err := readAll(t, in)
		if err != nil || len(fs) != 1 {
			t.Errorf("crs %s: %v", name, err)
		}
	}
	if _, err := readAll(t, `{"crs":null,"features":[],"type":"FeatureCollection"}`); err != nil {
		t.Errorf("crs null, members in any order: %v", err)
	}
}

// featureStream writes a FeatureCollection of n features as it is read.
func featureStream(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprint(pw, `{"type":"FeatureCollection","features":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				fmt.Fprint(pw, ",\n")
			}
			x := float64(i%1000) / 1000
			fmt.Fprintf(pw, `{"type":"Feature","id":%d,"properties":{"name":"building %d","floors":%d},"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
				i, i, 1+i%30, x, 0.0, x+0.0005, 0.0, x+0.0005, 0.0005, x, 0.0)
		}
		fmt.Fprint(pw, `]}`)
		pw.Close()
	}()
	return pr
}

func TestReadStreamsInBoundedMemory(t *testing.T) {
	const n = 30000 // about 6 MB of GeoJSON
	r := NewReader(featureStream(n))
	maxKept := 0
	count := 0
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Index != count || f.Line != count+1 {
			t.Fatalf("feature %d at index %d line %d", count, f.Index, f.Line)
		}
		count++
		if c := cap(r.t.buf); c > maxKept {
			maxKept = c
		}
	}
	if count != n {
		t.Fatalf("%d features, want %d", count, n)
	}
	if r.BytesRead() < 5<<20 {
		t.Fatalf("read %d bytes, expected more than 5 MB", r.BytesRead())
	}
	// The kept bytes are about one feature and the decoder's read-ahead.
	if maxKept > 256<<10 {
		t.Fatalf("kept up to %d bytes of input, want under 256 KiB", maxKept)
	}
}

func BenchmarkRead(b *testing.B) {
	data, err := io.ReadAll(featureStream(20000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(strings.NewReader(string(data)))
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
