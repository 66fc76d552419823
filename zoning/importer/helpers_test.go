package importer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// repoRoot is the directory holding go.mod above the test's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory: cannot find the repository root")
		}
		dir = parent
	}
}

// liechtensteinPBF is the real extract kept beside the repository.
func liechtensteinPBF(t testing.TB) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the real OSM test extract is missing: %v (tests read it from ../shared/data/osm/ beside the repository; see ../shared/data/README.md)", err)
	}
	return p
}

// liechtensteinLevels maps Liechtenstein's admin levels: the country, its
// two Wahlkreise, its eleven Gemeinden (the units a command centre would
// zone as counties).
var liechtensteinLevels = map[int]string{2: "province", 6: "city", 8: "county"}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newImporter(t testing.TB) (*Importer, *postgis.Store) {
	t.Helper()
	s := pgtest.NewStore(t)
	return New(s, nil), s
}

// newOwnerImporter is newImporter acting as the owner role, which may drop
// and rebuild indexes (bulk mode), as `riskzone import` on the managed
// cluster does.
func newOwnerImporter(t testing.TB) (*Importer, *postgis.Store) {
	t.Helper()
	s := pgtest.NewOwnerStore(t)
	return New(s, nil), s
}

func testdata(name string) string { return filepath.Join("testdata", name) }

// importOK runs an import that must succeed.
func importOK(t testing.TB, im *Importer, path string, opts Options) *Summary {
	t.Helper()
	sum, err := im.ImportFile(ctxT(t), path, opts)
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return sum
}

// importInvalid runs an import that must fail as bad input, and leave every
// table as it was.
func importInvalid(t testing.TB, im *Importer, s *postgis.Store, path string, opts Options, want ...string) error {
	t.Helper()
	before := fingerprints(t, s)
	sum, err := im.ImportFile(ctxT(t), path, opts)
	if err == nil {
		t.Fatalf("import %s succeeded (%+v), want an error", path, sum.Layers)
	}
	if !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("import %s: %v, want an ErrInvalid", path, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("import %s: error %q does not mention %q", path, err, w)
		}
	}
	after := fingerprints(t, s)
	for table, fp := range before {
		if after[table] != fp {
			t.Errorf("import %s failed but changed %s: %s -> %s", path, table, fp, after[table])
		}
	}
	var status, msg string
	if err := s.Pool.QueryRow(ctxT(t), "SELECT status, coalesce(error, '') FROM import_jobs ORDER BY id DESC LIMIT 1").Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || msg == "" {
		t.Errorf("job of the failed import: status %q error %q, want failed with the error", status, msg)
	}
	return err
}

// fingerprintTables are the tables an import writes, with their row count
// and an md5 of every row (ids, timestamps and geometry included).
var fingerprintTables = []string{"admin_areas", "compounds", "buildings", "units", "barriers", "places", "layer_versions"}

func fingerprints(t testing.TB, s *postgis.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range fingerprintTables {
		var n int64
		var md5 string
		// The table names are constants of this test, not input.
		err := s.Pool.QueryRow(ctxT(t), "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM "+table+" x").Scan(&n, &md5)
		if err != nil {
			t.Fatalf("fingerprint %s: %v", table, err)
		}
		out[table] = strconv.FormatInt(n, 10) + ":" + md5
	}
	return out
}

func count(t testing.TB, s *postgis.Store, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.Pool.QueryRow(ctxT(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// osmium runs osmium-tool (Debian osmium-tool; `make deps` installs it).
func osmium(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("osmium"); err != nil {
		t.Fatalf("osmium is not installed (apt-get install osmium-tool, or make deps): %v", err)
	}
	out, err := exec.Command("osmium", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("osmium %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// osmiumWays counts the ways of a filter chain: each step is a tags-filter
// run (-R: only the matching objects), "-i" first inverts it.
func osmiumCount(t testing.TB, in, what string, steps ...[]string) int64 {
	t.Helper()
	dir := t.TempDir()
	cur := in
	for i, step := range steps {
		out := filepath.Join(dir, strconv.Itoa(i)+".osm.pbf")
		args := append([]string{"tags-filter", "-O", "-R", "-o", out, cur}, step...)
		osmium(t, args...)
		cur = out
	}
	s := strings.TrimSpace(osmium(t, "fileinfo", "-e", "-g", "data.count."+what, cur))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("osmium fileinfo: %q", s)
	}
	return n
}
