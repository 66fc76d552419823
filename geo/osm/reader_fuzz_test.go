package osm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	posm "github.com/paulmach/osm"

	"github.com/riskzone/riskzone/geo/osm/osmtest"
)

// FuzzRead feeds arbitrary bytes to the PBF and XML readers: they must
// answer features or an error, never panic or hang, and a file that is not
// OSM must be ErrFormat. Seeds: a small PBF and XML of our own, and the
// start of the real Liechtenstein extract (truncated, so ErrFormat), and
// the two blob bombs of osmtest.
func FuzzRead(f *testing.F) {
	f.Add([]byte(smallXML))
	if b, err := os.ReadFile(filepath.Join("testdata", "small.osm.pbf")); err == nil {
		f.Add(b)
	} else {
		f.Fatalf("seed: %v", err)
	}
	f.Add([]byte(`<?xml version="1.0"?><osm version="0.6"><node id="1" lat="91" lon="9"/></osm>`))
	f.Add([]byte(`<osm><way id="1"><nd ref="1"/></way><relation id="2"><member type="way" ref="1" role="outer"/><tag k="type" v="multipolygon"/></relation></osm>`))
	f.Add([]byte{0, 0, 0, 13, 10, 9, 'O', 'S', 'M', 'H', 'e', 'a', 'd', 'e', 'r', 24, 0})
	f.Add([]byte{})
	f.Add(osmtest.RawSizeBomb())
	f.Add(osmtest.InflateBomb())
	f.Add([]byte(`<osm><way id="1"><!-- <node id="2"/> --><![CDATA[ ]]]> ]]><nd ref="1"/></way></osm>`))
	if real, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf")); err == nil {
		f.Add(real[:min(len(real), 4096)])
	}
	all := func(posm.Type, int64, posm.Tags) Shape { return Point | Line | Area }
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n := 0
		_, err := Read(ctx, bytes.NewReader(data), int64(len(data)), Options{Classify: all, Procs: 1}, func(f *Feature) error {
			if f == nil || f.Geometry == nil {
				t.Fatalf("emitted a feature without geometry: %+v", f)
			}
			n++
			return nil
		})
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read of %d bytes did not finish in 20 s", len(data))
		}
		if err != nil && n > 0 && errors.Is(err, ErrFormat) {
			// Features may only be emitted after the whole file was read.
			t.Fatalf("%d features emitted before the file was found broken: %v", n, err)
		}
	})
}
