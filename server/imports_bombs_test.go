package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/geo/geojson"
	"github.com/riskzone/riskzone/geo/osm/osmtest"
	"github.com/riskzone/riskzone/zoning"
)

// Crafted bombs over HTTP: each upload is accepted, its job fails with an
// error that names the file and the limit, the data is as it was, and the
// server goes on answering (a good import after them is done). A PBF blob
// declaring 1 GiB, one inflating to 64 MiB, and a 17 MiB GeoJSON feature
// (over the 16 MiB default; the upload limit here is 24 MB).
func TestImportHTTPBombs(t *testing.T) {
	t.Setenv("RISKZONE_IMPORT_LIMIT", "24M")
	t.Setenv("RISKZONE_IMPORT_QUEUE", "3")
	t.Setenv("TMPDIR", t.TempDir())
	te := newTestEnv(t, Config{Password: testPasswordParams}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	te.srv.Start(ctx)
	te.addUser("root", zoning.RoleAdmin, "admin-password-1")
	e := &importEnv{testEnv: te, admin: te.login("root", "admin-password-1")}

	gj := readFile(t, repoFile(t, "zoning/importer/testdata/buildings.geojson"))
	if job := e.wait(e.accepted(e.upload(upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}}, fileName: "b.geojson", file: gj}), "GeoJSON first").ID); job.Status != "done" {
		t.Fatalf("GeoJSON import: %+v", job)
	}
	fingerprint := func() string {
		var fp string
		err := e.store.Pool.QueryRow(context.Background(), `SELECT concat_ws('|',
			(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM buildings x),
			(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM units x),
			(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM barriers x),
			(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM admin_areas x),
			(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.layer), '')) FROM layer_versions x))`).Scan(&fp)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	before := fingerprint()

	bigFeature := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"big","properties":{"note":"` +
		strings.Repeat("x", geojson.DefaultMaxFeatureBytes+1<<20) + `"},"geometry":null}]}`
	bombs := []struct {
		file, kind string
		data       []byte
		want       string
	}{
		{"rawsize.osm.pbf", "osm", osmtest.RawSizeBomb(), "declares a raw size of 1073741824 bytes (the limit is 33554432)"},
		{"inflate.osm.pbf", "osm", osmtest.InflateBomb(), "inflates past 33554432 bytes"},
		{"big.geojson", "geojson", []byte(bigFeature), fmt.Sprintf("feature 0: too large: the feature is over the limit of %d bytes", geojson.DefaultMaxFeatureBytes)},
	}
	for _, b := range bombs {
		fields := [][2]string{{"kind", b.kind}}
		if b.kind == "geojson" {
			fields = append(fields, [2]string{"layer", "buildings"})
		}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		job := e.wait(e.accepted(e.upload(upload{fields: fields, fileName: b.file, file: b.data}), b.file).ID)
		runtime.ReadMemStats(&m1)
		t.Logf("%s (%d bytes): job %s: %s; %d MiB allocated by the server and the test while it ran", b.file, len(b.data), job.Status, job.Error, (m1.TotalAlloc-m0.TotalAlloc)>>20)
		if job.Status != "failed" || !strings.Contains(job.Error, b.file) || !strings.Contains(job.Error, b.want) {
			t.Errorf("%s: job %+v, want failed naming the file and %q", b.file, job, b.want)
		}
		if job.Summary != nil {
			t.Errorf("%s: failed job has a summary: %+v", b.file, job.Summary)
		}
		if after := fingerprint(); after != before {
			t.Errorf("%s: a failed import changed the data", b.file)
		}
	}
	// Still serving: a read answers and a good import runs to done.
	e.do(request{method: "GET", path: importsPath + "/1", cookie: e.admin.cookie}).expect(t, http.StatusOK, "GET the first job after the bombs")
	if job := e.wait(e.accepted(e.upload(upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}}, fileName: "b.geojson", file: gj}), "GeoJSON after").ID); job.Status != "done" {
		t.Fatalf("GeoJSON import after the bombs: %+v", job)
	}
}
