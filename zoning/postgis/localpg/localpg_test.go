package localpg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestFindRepoRoot(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FindRepoRoot(deep)
	if err != nil || got != dir {
		t.Fatalf("FindRepoRoot = %q, %v; want %q", got, err, dir)
	}
	if _, err := FindRepoRoot("/"); err == nil {
		t.Fatal("FindRepoRoot(/) found a go.mod")
	}
}

func TestPortFromEnv(t *testing.T) {
	t.Setenv("RISKZONE_PG_PORT", "55001")
	c, err := New(t.TempDir(), nil)
	if err != nil || c.Port != 55001 {
		t.Fatalf("port %d, %v", c.Port, err)
	}
	if !strings.Contains(c.URL(), "127.0.0.1:55001/riskzone") {
		t.Fatalf("URL %q", c.URL())
	}
	t.Setenv("RISKZONE_PG_PORT", "http")
	if _, err := New(t.TempDir(), nil); err == nil {
		t.Fatal("a non-numeric port was accepted")
	}
}

// A non-root user without PostGIS is told which package to install.
func TestMissingPostGISNamesThePackage(t *testing.T) {
	c, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ExtensionDir = t.TempDir() // no postgis.control here
	if asRoot() {
		// As root a missing PostGIS is installed; that path is exercised by
		// `make test` on a fresh machine. Here check the detection itself.
		if c.postgisInstalled() {
			t.Fatal("postgis reported installed in an empty extension dir")
		}
		return
	}
	err = c.EnsureInstalled(context.Background())
	if !errors.Is(err, ErrPostGISMissing) || !strings.Contains(err.Error(), PostGISPackage) {
		t.Fatalf("EnsureInstalled = %v; want ErrPostGISMissing naming %s", err, PostGISPackage)
	}
}

// A repository below a 0700 folder is unreachable for the postgres user: the
// cluster moves to /var/lib/riskzone, says so, and really starts there.
func TestClusterRelocatesWhenPostgresCannotEnter(t *testing.T) {
	if !asRoot() {
		c, err := New(t.TempDir(), nil)
		if err != nil || c.Relocated() {
			t.Fatalf("as a normal user the cluster stays in the repository: %+v %v", c, err)
		}
		return
	}
	if _, err := user.Lookup("postgres"); err != nil {
		t.Fatalf("the postgres system user is missing (install postgresql-15): %v", err)
	}
	private, err := os.MkdirTemp("", "rz-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(private) })
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(private, "clone")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RISKZONE_PG_PORT", "54391")
	var log bytes.Buffer
	c, err := New(repo, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Relocated() || !strings.HasPrefix(c.DataDir, "/var/lib/riskzone/") {
		t.Fatalf("data dir %s: want it relocated under /var/lib/riskzone", c.DataDir)
	}
	base := filepath.Dir(c.DataDir)
	t.Cleanup(func() {
		_ = c.Stop(context.Background())
		os.RemoveAll(base)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start relocated cluster: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), c.DataDir) {
		t.Errorf("the start did not print where the cluster went:\n%s", log.String())
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT postgis_lib_version()").Scan(&v); err != nil || v == "" {
		t.Fatalf("postgis in the relocated cluster: %q %v", v, err)
	}
	if !strings.Contains(c.Status(ctx), "running") {
		t.Fatalf("status %q", c.Status(ctx))
	}
	// Starting again is a no-op.
	if err := c.Start(ctx); err != nil {
		t.Fatalf("second start: %v", err)
	}
	conn.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if strings.Contains(c.Status(ctx), "running") {
		t.Fatalf("still running after stop: %s", c.Status(ctx))
	}
}
