package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/geo/osm/osmtest"
)

// Crafted bombs fail as bad input that says what is wrong, and leave every
// table as it was: a PBF blob declaring 1 GiB, one inflating to 64 MiB, and
// a GeoJSON feature over the import's feature limit.
func TestImportBombsChangeNothing(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, testdata("buildings.geojson"), Options{Kind: KindGeoJSON, Layer: "buildings"})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	importInvalid(t, im, s, write("rawsize.osm.pbf", osmtest.RawSizeBomb()), Options{Kind: KindOSM},
		"rawsize.osm.pbf", "not a readable OSM file", "declares a raw size of 1073741824 bytes (the limit is 33554432)")
	importInvalid(t, im, s, write("inflate.osm.pbf", osmtest.InflateBomb()), Options{Kind: KindOSM},
		"inflate.osm.pbf", "not a readable OSM file", "inflates past 33554432 bytes")

	// A second feature of 120 KB under a 64 KiB limit; the first, valid,
	// was staged and is rolled back with the rest.
	gj := `{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","id":"b1","properties":{},"geometry":{"type":"Polygon","coordinates":[[[9.5,47.1],[9.5001,47.1],[9.5001,47.1001],[9.5,47.1]]]}},` + "\n" +
		`{"type":"Feature","id":"big","properties":{"note":"` + strings.Repeat("x", 120_000) + `"},"geometry":null}]}`
	importInvalid(t, im, s, write("big.geojson", []byte(gj)), Options{Kind: KindGeoJSON, Layer: "buildings", MaxFeatureBytes: 64 << 10},
		"big.geojson", "line 2, column 1", "feature 1", "over the limit of 65536 bytes")
	if _, err := im.ImportFile(ctxT(t), write("ok.geojson", []byte(gj)), Options{Kind: KindGeoJSON, Layer: "buildings", MaxFeatureBytes: -1}); err == nil ||
		!strings.Contains(err.Error(), "max feature bytes -1") {
		t.Errorf("a negative feature limit: %v, want it refused", err)
	}
}
