package server

import (
	"errors"
	"math"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// FuzzOGCParams: every OGC query parameter parser (crs, bbox, datetime,
// limit, cursor, feature id) answers a value or an ErrInvalid/ErrNotFound
// error, never a panic; what it accepts is in range, and a cursor it
// accepts is one it made.
func FuzzOGCParams(f *testing.F) {
	f.Add("[EPSG:4326]", "116.3,39.9,116.5,40.1", "2022-11-20T00:00:00+08:00/..", "100", "YS4xMi4z", "12-3")
	f.Add("http://www.opengis.net/def/crs/EPSG/0/3857", "-20037508.34,-20037508.34,20037508.34,20037508.34", "../2022-11-20", "0", "", "x")
	f.Add("", "1,2,3", "2022-13-40", "-1", "Yi4xLjI", "9223372036854775807-1")
	f.Add("[OGC:CRS84]", "1,2,0,3,4,0", "2022-11-20/2022-11-19", "10001", "!!", "")
	f.Add("https://www.opengis.net/def/crs/OGC/1.3/CRS84", "NaN,0,1,1", "/", "1e3", "YS4tMS4w", "1-")
	f.Fuzz(func(t *testing.T, crsV, bboxV, dtV, limitV, cursorV, fidV string) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, zoning.ErrInvalid) && !errors.Is(err, zoning.ErrNotFound) {
				t.Fatalf("%s: %v is not a bad-input error", what, err)
			}
		}
		crs, err := parseCRS("crs", crsV)
		check("crs", err)
		if err != nil {
			crs = ogcCRSs[0]
		}
		bb, err := parseBBox(bboxV, crs)
		check("bbox", err)
		if err == nil && bb != nil {
			for _, v := range bb {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("bbox %q accepted as %v", bboxV, *bb)
				}
			}
			if bb[0] > bb[2] || bb[1] > bb[3] || bb[0] < -180 || bb[2] > 180 || bb[1] < -90 || bb[3] > 90 {
				t.Fatalf("bbox %q accepted out of range: %v", bboxV, *bb)
			}
		}
		span, err := parseDatetime(dtV)
		check("datetime", err)
		if err == nil && span != nil && span.From != nil && span.To != nil && span.From.After(*span.To) {
			t.Fatalf("datetime %q accepted with its start after its end", dtV)
		}
		n, err := parseLimit(limitV)
		check("limit", err)
		if err == nil && n < 1 {
			t.Fatalf("limit %q accepted as %d", limitV, n)
		}
		before, k, err := decodeCursor(cursorV)
		check("cursor", err)
		if err == nil && encodeCursor(before, k) != cursorV {
			t.Fatalf("cursor %q accepted but not one this service makes", cursorV)
		}
		for _, coll := range []postgis.Collection{{ID: "zones"}, {ID: "zone-versions", StringID: true}} {
			_, err := parseFID(coll, fidV)
			check("feature id", err)
		}
	})
}
