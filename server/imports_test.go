package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/importer"
)

// repoFile is a path relative to the repository root (above server/).
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test file missing: %v", err)
	}
	return p
}

// realExtract is the real OpenStreetMap extract kept beside the repository
// (../shared/data/osm, see ../shared/data/README.md).
func realExtract(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the real OSM test extract is missing: %v (tests read it from ../shared/data/osm/ beside the repository)", err)
	}
	return p
}

// importEnv is a test server whose import worker runs (unless told not to),
// with a 1 MiB upload limit, and a signed-in admin.
type importEnv struct {
	*testEnv
	admin session
}

func newImportEnv(t *testing.T, start bool, queue int) *importEnv {
	t.Setenv("RISKZONE_IMPORT_LIMIT", "1M")
	t.Setenv("RISKZONE_IMPORT_QUEUE", strconv.Itoa(queue))
	t.Setenv("TMPDIR", t.TempDir()) // where uploads are spooled
	e := newTestEnv(t, Config{Password: testPasswordParams}, nil)
	if start {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		e.srv.Start(ctx)
	}
	e.addUser("root", zoning.RoleAdmin, "admin-password-1")
	return &importEnv{testEnv: e, admin: e.login("root", "admin-password-1")}
}

// upload is a multipart import request.
type upload struct {
	fields   [][2]string
	fileName string
	file     []byte
	noFile   bool
}

func (u upload) body(t *testing.T) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range u.fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if !u.noFile {
		fw, err := w.CreateFormFile("file", u.fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(u.file); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

// post sends an upload as s (nil: anonymous) with raw body and content type
// when given instead.
func (e *importEnv) post(s *session, body io.Reader, ctype string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+importsPath, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if s != nil {
		req.AddCookie(s.cookie)
		req.Header.Set(csrfHeaderName, s.csrf)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", importsPath, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Response: res, body: b}
}

func (e *importEnv) upload(u upload) response {
	e.t.Helper()
	body, ctype := u.body(e.t)
	return e.post(&e.admin, body, ctype)
}

// accepted checks a 202 with its Location and returns the job.
func (e *importEnv) accepted(res response, what string) importer.Job {
	e.t.Helper()
	res.expect(e.t, http.StatusAccepted, what)
	var job importer.Job
	res.decode(e.t, &job)
	if job.ID == 0 || (job.Status != "queued" && job.Status != "running" && job.Status != "done") {
		e.t.Fatalf("%s: job %s, want an id and an open status", what, res.body)
	}
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("%s/%d", importsPath, job.ID) {
		e.t.Fatalf("%s: Location %q, want %s/%d", what, loc, importsPath, job.ID)
	}
	return job
}

// wait polls the job until it is done or failed.
func (e *importEnv) wait(id int64) importer.Job {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		res := e.do(request{method: "GET", path: fmt.Sprintf("%s/%d", importsPath, id), cookie: e.admin.cookie})
		res.expect(e.t, http.StatusOK, "GET job")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			e.t.Errorf("GET job: Cache-Control %q, want no-store", cc)
		}
		var job importer.Job
		res.decode(e.t, &job)
		if job.Status == "done" || job.Status == "failed" {
			return job
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %d still %s after 3 minutes: %s", id, job.Status, res.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *importEnv) count(sql string) int64 {
	e.t.Helper()
	var n int64
	if err := e.store.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func layerOf(job importer.Job, layer string) importer.LayerCounts {
	for _, l := range job.Summary.Layers {
		if l.Layer == layer {
			return l
		}
	}
	return importer.LayerCounts{Layer: layer}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The real extract over HTTP: 202 with a job, the job runs to done with
// counts that match the database, and uploading it again changes nothing.
func TestImportHTTPRealExtract(t *testing.T) {
	e := newImportEnv(t, true, 3)
	pbf := readFile(t, realExtract(t))
	fields := [][2]string{{"kind", "osm"}, {"admin_levels", "2=province,6=city,8=county"}}
	job := e.accepted(e.upload(upload{fields: fields, fileName: "liechtenstein.osm.pbf", file: pbf}), "upload the extract")
	if job.Kind != "osm" || job.Origin != "http" || job.FileName != "liechtenstein.osm.pbf" || job.FileSize != int64(len(pbf)) {
		t.Errorf("accepted job %+v, want kind osm, origin http, the file's name and size", job)
	}
	done := e.wait(job.ID)
	if done.Status != "done" || done.Summary == nil {
		t.Fatalf("job %+v, want done with a summary", done)
	}
	b := layerOf(done, "buildings")
	if b.Added < 3000 || b.Added != e.count("SELECT count(*) FROM buildings WHERE source = 'osm'") {
		t.Errorf("buildings added %d; want > 3000 and as many as the table holds (%d)", b.Added, e.count("SELECT count(*) FROM buildings"))
	}
	if n := layerOf(done, "barriers").Added; n == 0 || n != e.count("SELECT count(*) FROM barriers WHERE source = 'osm'") {
		t.Errorf("barriers added %d, table holds %d", n, e.count("SELECT count(*) FROM barriers"))
	}
	if done.Progress.BytesRead != int64(len(pbf)) || done.Progress.FeaturesRead == 0 || done.FinishedAt == nil {
		t.Errorf("progress of a done job %+v, want the whole file read and features counted", done.Progress)
	}
	if done.CreatedBy == nil {
		t.Error("job has no created_by: want the admin who uploaded it")
	}

	again := e.wait(e.accepted(e.upload(upload{fields: fields, fileName: "liechtenstein.osm.pbf", file: pbf}), "upload it again").ID)
	if again.Status != "done" {
		t.Fatalf("re-import: %+v", again)
	}
	for _, l := range again.Summary.Layers {
		if l.Added+l.Changed+l.Removed != 0 {
			t.Errorf("re-import changed %s: %+v", l.Layer, l)
		}
	}
}

// A GeoJSON layer with options: the source and a population mapping apply.
func TestImportHTTPGeoJSON(t *testing.T) {
	e := newImportEnv(t, true, 3)
	gj := readFile(t, repoFile(t, "zoning/importer/testdata/buildings.geojson"))
	job := e.accepted(e.upload(upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}, {"source", "survey-2024"},
		{"map", "population=pop"}, {"derive_units", "false"}}, fileName: "buildings.geojson", file: gj}), "upload GeoJSON")
	done := e.wait(job.ID)
	if done.Status != "done" {
		t.Fatalf("job %+v, want done", done)
	}
	n := e.count("SELECT count(*) FROM buildings WHERE source = 'survey-2024'")
	if b := layerOf(done, "buildings"); n == 0 || b.Added != n {
		t.Errorf("buildings added %d, table holds %d of the source", b.Added, n)
	}
	if u := e.count("SELECT count(*) FROM units"); u != 0 {
		t.Errorf("derive_units=false: %d units derived", u)
	}
	if p := e.count("SELECT count(*) FROM buildings WHERE source = 'survey-2024' AND NOT population_derived AND population = 120"); p != 1 {
		t.Errorf("map population=pop: %d buildings with the file's population 120, want 1", p)
	}
}

// Who may import: admins; others 403, nobody 401, a session without its
// CSRF token 403.
func TestImportHTTPAccess(t *testing.T) {
	e := newImportEnv(t, false, 3)
	e.addUser("expert", zoning.RoleExpert, "expert-password-1")
	expert := e.login("expert", "expert-password-1")
	u := upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}}, fileName: "b.geojson", file: []byte(`{"type":"FeatureCollection","features":[]}`)}
	body, ctype := u.body(t)
	e.post(&expert, bytes.NewReader(body.Bytes()), ctype).expectError(t, http.StatusForbidden, "admin", "expert uploads")
	e.post(nil, bytes.NewReader(body.Bytes()), ctype).expectError(t, http.StatusUnauthorized, "sign in", "anonymous upload")
	noCSRF := session{cookie: e.admin.cookie}
	e.post(&noCSRF, bytes.NewReader(body.Bytes()), ctype).expectError(t, http.StatusForbidden, "CSRF", "admin without CSRF token")
	e.do(request{method: "GET", path: importsPath + "/1", cookie: expert.cookie}).expectError(t, http.StatusForbidden, "admin", "expert reads a job")
	e.do(request{method: "GET", path: importsPath + "/1"}).expectError(t, http.StatusUnauthorized, "sign in", "anonymous reads a job")
	if n := e.count("SELECT count(*) FROM import_jobs"); n != 0 {
		t.Errorf("%d jobs recorded by refused uploads", n)
	}
}

// Bad requests: 413 over the limit, 400 for a bad body or options, 404 for
// an unknown job; none records a job.
func TestImportHTTPBadRequests(t *testing.T) {
	e := newImportEnv(t, false, 3)
	gj := []byte(`{"type":"FeatureCollection","features":[]}`)
	big := make([]byte, 1<<20+1000)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	e.upload(upload{fields: [][2]string{{"kind", "osm"}}, fileName: "big.osm.pbf", file: big}).
		expectError(t, http.StatusRequestEntityTooLarge, "import limit of 1M (1000000 bytes", "upload over the limit")
	huge := make([]byte, 3<<20)
	e.upload(upload{fields: [][2]string{{"kind", "osm"}}, fileName: "huge.osm.pbf", file: huge}).
		expectError(t, http.StatusRequestEntityTooLarge, "import limit", "upload far over the limit (by Content-Length)")

	bad := []struct {
		name string
		u    upload
		want string
	}{
		{"unknown kind", upload{fields: [][2]string{{"kind", "shapefile"}}, fileName: "x", file: gj}, "kind \"shapefile\""},
		{"no kind", upload{fileName: "x", file: gj}, "want osm or geojson"},
		{"bad layer", upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "roads"}}, fileName: "x", file: gj}, "layer \"roads\""},
		{"layer with osm", upload{fields: [][2]string{{"kind", "osm"}, {"layer", "buildings"}}, fileName: "x", file: gj}, "no layer may be given"},
		{"no file", upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}}, noFile: true}, "no file"},
		{"unknown field", upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}, {"colour", "red"}}, fileName: "x", file: gj}, "unknown form field \"colour\""},
		{"bad number", upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}, {"max_units", "many"}}, fileName: "x", file: gj}, "max_units"},
		{"bad bbox", upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}, {"bbox", "1,2,3"}}, fileName: "x", file: gj}, "bbox"},
	}
	for _, b := range bad {
		e.upload(b.u).expectError(t, http.StatusBadRequest, b.want, b.name)
	}
	e.post(&e.admin, strings.NewReader(`{"kind":"osm"}`), "application/json").expectError(t, http.StatusBadRequest, "multipart/form-data", "JSON body")
	e.post(&e.admin, strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nosm\r\n--xyz\r\ngarbage"), "multipart/form-data; boundary=xyz").
		expectError(t, http.StatusBadRequest, "bad multipart body", "truncated multipart body")
	e.do(request{method: "GET", path: importsPath + "/999999", cookie: e.admin.cookie}).expectError(t, http.StatusNotFound, "not found", "unknown job")
	e.do(request{method: "GET", path: importsPath + "/abc", cookie: e.admin.cookie}).expectError(t, http.StatusBadRequest, "positive integer", "bad job id")
	if n := e.count("SELECT count(*) FROM import_jobs"); n != 0 {
		t.Errorf("%d jobs recorded by bad requests", n)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "riskzone-import-*")); len(left) > 0 {
		t.Errorf("spooled uploads left behind by refused requests: %v", left)
	}
}

// A corrupted PBF: accepted, then the job fails with a clear error and the
// data is as it was.
func TestImportHTTPCorruptPBF(t *testing.T) {
	e := newImportEnv(t, true, 3)
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
	pbf := readFile(t, realExtract(t))
	for i := len(pbf) * 3 / 4; i < len(pbf)*3/4+200; i++ {
		pbf[i] ^= 0xa5
	}
	job := e.wait(e.accepted(e.upload(upload{fields: [][2]string{{"kind", "osm"}}, fileName: "corrupt.osm.pbf", file: pbf}), "corrupt PBF").ID)
	if job.Status != "failed" || !strings.Contains(job.Error, "corrupt.osm.pbf") || !strings.Contains(job.Error, "not a readable OSM file") {
		t.Fatalf("corrupt PBF: job %+v, want failed naming the file as not a readable OSM file", job)
	}
	if job.Summary != nil {
		t.Errorf("failed job has a summary: %+v", job.Summary)
	}
	if after := fingerprint(); after != before {
		t.Error("a failed import changed the data")
	}
}

// One import runs at a time: with no room to queue, a second upload while
// one is accepted is refused with 429.
func TestImportHTTPQueueFull(t *testing.T) {
	e := newImportEnv(t, false, 0) // worker not started: the first job stays queued
	u := upload{fields: [][2]string{{"kind", "geojson"}, {"layer", "buildings"}}, fileName: "b.geojson", file: []byte(`{"type":"FeatureCollection","features":[]}`)}
	job := e.accepted(e.upload(u), "first upload")
	if job.Status != "queued" {
		t.Fatalf("first job %+v, want queued", job)
	}
	res := e.upload(u)
	res.expectError(t, http.StatusTooManyRequests, "an import is running", "second upload")
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if n := e.count("SELECT count(*) FROM import_jobs"); n != 1 {
		t.Errorf("%d jobs recorded, want only the accepted one", n)
	}
}

// A server that starts fails the jobs its previous process left open.
func TestImportHTTPRestartFailsOpenJobs(t *testing.T) {
	e := newImportEnv(t, false, 3)
	runner := e.srv.imports.jobs.Runner
	im := importer.New(e.store, nil)
	ctx := context.Background()
	var ids []int64
	for _, r := range []string{runner, runner, "http:elsewhere/10.0.0.1:8080"} {
		id, err := im.CreateJob(ctx, importer.Options{Kind: importer.KindOSM, FileName: "x.osm.pbf", Origin: "http", Runner: r}, 10)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := e.store.Pool.Exec(ctx, "UPDATE import_jobs SET status = 'running', started_at = now() WHERE id = $1", ids[0]); err != nil {
		t.Fatal(err)
	}
	restarted := New(Config{Password: testPasswordParams}, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	restarted.Start(sctx)
	want := []string{"failed", "failed", "queued"} // the last is another server's
	deadline := time.Now().Add(10 * time.Second)
	for i, status := range want {
		id := ids[i]
		for {
			j, err := im.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status == status && (status != "failed" || strings.Contains(j.Error, "server stopped")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d after restart: %s %q, want %s", id, j.Status, j.Error, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
