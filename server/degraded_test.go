package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/tiles/pgsource"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

// ownCluster starts a PostgreSQL cluster of this test alone (its own data
// folder beside the managed one, its own free port), so that stopping it
// disturbs no other test, and returns it with the URL of a fresh migrated
// database on it.
func ownCluster(t *testing.T, name string) (*localpg.Config, string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := localpg.FindRepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	c, err := localpg.New(root, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(filepath.Dir(c.DataDir), "test-"+name)
	c.DataDir, c.RunDir = filepath.Join(base, "postgres"), filepath.Join(base, "run")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// The port is written into the cluster's options at start, not in its
	// configuration: a cluster left running by an interrupted run is
	// stopped first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if pid, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid")); err == nil {
		lines := strings.Split(string(pid), "\n")
		if len(lines) > 3 {
			old := *c
			old.Port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
			_ = old.Stop(ctx)
		}
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start the test's own PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	admin, err := pgx.Connect(ctx, c.DatabaseURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	db := "rz_" + name
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	dsn := c.DatabaseURL(db)
	if _, _, err := postgis.Migrate(ctx, dsn); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return c, dsn
}

// PostgreSQL stops while the server serves: public tiles and lookups keep
// answering 200 from memory, marked stale; writes and reads that need the
// database answer 503 with Retry-After; /readyz fails. PostgreSQL starts
// again: without a restart of the server, writes work, /readyz passes and
// the layer listener is back.
func TestDegradedMode(t *testing.T) {
	cluster, dsn := ownCluster(t, "degraded")
	ctx, cancel := context.WithCancel(context.Background())
	store, err := postgis.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	sum, err := demo.Load(ctx, store, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if _, err := demo.TellStory(ctx, store, sum); err != nil {
		t.Fatalf("demo story: %v", err)
	}
	logs := &lockedBuffer{}
	srv := New(Config{DBCheckInterval: 100 * time.Millisecond, Public: PublicConfig{LookupPoll: time.Second}},
		store, slog.New(slog.NewTextHandler(logs, nil)))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(cancel) // first: the workers release their connections before the store closes
	srv.Start(ctx)
	e := &testEnv{t: t, srv: srv, store: store, ts: ts, logs: logs}
	e.addUser("pat", zoning.RolePublisher, "correct horse battery")
	login := request{method: "POST", path: "/api/v1/auth/login", json: map[string]string{"username": "pat", "password": "correct horse battery"}}

	var lon, lat float64
	if err := store.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM public_zone_versions ORDER BY zone_id LIMIT 1`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	tilePath := func(set string) string {
		tl := tiles.TileOf(lon, lat, 15)
		return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", set, tl.Z, tl.X, tl.Y)
	}
	lookupURL := fmt.Sprintf("/api/v1/public/lookup?lon=%f&lat=%f", lon, lat)
	warm := map[string]response{}
	for _, p := range []string{tilePath("public"), tilePath("zones"), lookupURL, "/tiles/public.json"} {
		res := e.do(request{method: "GET", path: p}).expect(t, http.StatusOK, "warm "+p)
		if res.Header.Get(HeaderStale) != "" {
			t.Fatalf("%s is marked stale while the database is up", p)
		}
		warm[p] = res
	}
	var before lookup.Answer
	warm[lookupURL].decode(t, &before)
	if !before.InZone {
		t.Fatalf("the point of a public zone is not in a zone: %s", warm[lookupURL].body)
	}
	e.do(login).expect(t, http.StatusOK, "login while up")

	stopCtx, stopCancel := context.WithTimeout(ctx, time.Minute)
	defer stopCancel()
	if err := cluster.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, "/readyz", http.StatusServiceUnavailable, 10*time.Second)

	for p, w := range warm {
		res := e.do(request{method: "GET", path: p})
		res.expect(t, http.StatusOK, "degraded "+p)
		if res.Header.Get(HeaderStale) != "1" {
			t.Errorf("%s while the database is down: no %s header", p, HeaderStale)
		}
		if strings.HasPrefix(p, "/tiles/") && res.Header.Get("ETag") != w.Header.Get("ETag") {
			t.Errorf("%s: ETag %s, want the cached %s", p, res.Header.Get("ETag"), w.Header.Get("ETag"))
		}
	}
	var during lookup.Answer
	e.do(request{method: "GET", path: lookupURL}).decode(t, &during)
	if !during.InZone || during.IndexVersion != before.IndexVersion {
		t.Errorf("lookup while down: %+v, want the answer from before", during)
	}
	for _, r := range []request{
		login,
		{method: "POST", path: "/api/v1/notices", json: map[string]any{"county_id": sum.CountyID}},
		{method: "PUT", path: "/api/v1/zones/1/geometry", json: map[string]any{}},
	} {
		res := e.do(r)
		res.expectError(t, http.StatusServiceUnavailable, "database", r.method+" "+r.path+" while down")
		if res.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", r.method, r.path)
		}
	}
	// A read that needs the database: 503, not an internal error.
	res := e.do(request{method: "GET", path: "/notices"})
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("GET /notices while down: %d %v", res.StatusCode, res.Header)
	}
	if strings.Contains(logs.String(), "internal error") {
		t.Errorf("internal errors logged while degraded:\n%s", logs.String())
	}

	startCtx, startCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer startCancel()
	if err := cluster.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, "/readyz", http.StatusOK, 15*time.Second)
	e.do(login).expect(t, http.StatusOK, "login after the database returned")
	res = e.do(request{method: "GET", path: tilePath("public")}).expect(t, http.StatusOK, "tile after")
	if res.Header.Get(HeaderStale) != "" {
		t.Error("a tile is still marked stale after the database returned")
	}
	// The change listeners reconnected by themselves.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
			pgsource.ListenerName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tile layer listener did not reconnect within 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A change announced now reaches the tiles through the listener.
	old := tileJSONVersion(t, e, "zones")
	if _, err := store.Pool.Exec(ctx, `UPDATE layer_versions SET version = version + 1 WHERE layer = 'zones'; NOTIFY `+postgis.LayersChannel); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for tileJSONVersion(t, e, "zones") == old {
		if time.Now().After(deadline) {
			t.Fatal("a layer change after the restart did not reach the tiles within 2 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var m []byte
	if m = scrapeMetrics(t, srv); !strings.Contains(string(m), "riskzone_db_up 1") {
		t.Errorf("metrics after recovery:\n%s", m)
	}
}

func waitStatus(t *testing.T, e *testEnv, path string, status int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		res := e.do(request{method: "GET", path: path})
		if res.StatusCode == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answers %d after %s, want %d: %s", path, res.StatusCode, within, status, res.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tileJSONVersion(t *testing.T, e *testEnv, set string) string {
	t.Helper()
	var tj tiles.TileJSON
	if err := json.Unmarshal(e.do(request{method: "GET", path: "/tiles/" + set + ".json"}).expect(t, http.StatusOK, "TileJSON").body, &tj); err != nil {
		t.Fatal(err)
	}
	return versionOf(t, tj)
}

// scrapeMetrics reads the registry as Prometheus does.
func scrapeMetrics(t *testing.T, s *Server) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// metricValue is the value of one series in a scrape, named as the text
// format writes it: `name` or `name{label="value",...}` (labels sorted).
// It fails the test when the series is missing.
func metricValue(t *testing.T, scrape []byte, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(scrape), "\n") {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			t.Fatalf("metric %s: %q: %v", series, line, err)
		}
		return v
	}
	t.Fatalf("metric %s missing from the scrape:\n%s", series, scrape)
	return 0
}
