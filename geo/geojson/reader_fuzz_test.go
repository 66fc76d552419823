package geojson

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReader: any input yields features then io.EOF, or an *Error that
// says where; never a panic, and after an error the reader keeps
// answering the same error. The reader's feature limit is 64 KiB here so
// that the seed feature bomb (120 KB) meets it.
func FuzzReader(f *testing.F) {
	f.Add(good)
	f.Add(`{"type":"FeatureCollection","features":[]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[200,0],[1,1],[0,1],[200,0]]]},"properties":{}}]}`)
	f.Add(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"features":[]}`)
	f.Add(`{"type":"Feature","geometry":null}`)
	f.Add(`[`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[["x",0]]]]}}]}`)
	f.Add(bomb(20000))
	f.Fuzz(func(t *testing.T, s string) {
		r := NewReaderLimit(strings.NewReader(s), 64<<10)
		for i := 0; i < 100000; i++ {
			ft, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not a *geojson.Error", err, err)
				}
				if _, again := r.Next(); again == nil || again.Error() != err.Error() {
					t.Fatalf("after %v the reader answered %v", err, again)
				}
				return
			}
			if ft == nil {
				t.Fatal("a nil feature without an error")
			}
			if int64(len(s)) < r.BytesRead() {
				t.Fatalf("read %d bytes of a %d-byte input", r.BytesRead(), len(s))
			}
		}
		t.Fatal("the reader did not end")
	})
}
