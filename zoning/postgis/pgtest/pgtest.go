// Package pgtest gives tests a real, freshly migrated PostGIS database.
//
// With DATABASE_URL set, databases are created on that server (the role needs
// CREATEDB and must be able to migrate: a superuser, docs/operations.md
// "Database roles"; the app role riskzone_app must be able to log in, with
// the password in RISKZONE_TEST_APP_PASSWORD if it has one); otherwise the
// project's managed cluster is started on demand, so `go test ./...` works
// from a fresh clone. Each call clones a template that is migrated once per
// schema, which takes a fraction of a second; a clone keeps the template's
// owners and grants.
//
// NewStore connects as the app role, as `serve` does, so that every test on
// it proves the app's privileges are enough; NewOwnerStore acts as the owner
// role, for tests of what only migrations and operators' tools may do.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/migrations"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

var (
	serverOnce sync.Once
	serverURL  string // a database URL on the server, pointing at database "postgres"
	serverErr  error
)

// ServerURL returns a URL of the maintenance database of the test server,
// starting the managed cluster when DATABASE_URL is not set.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	serverOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
			serverURL, serverErr = withDatabase(dsn, "postgres")
			return
		}
		wd, err := os.Getwd()
		if err != nil {
			serverErr = err
			return
		}
		root, err := localpg.FindRepoRoot(wd)
		if err != nil {
			serverErr = err
			return
		}
		c, err := localpg.New(root, os.Stderr)
		if err != nil {
			serverErr = err
			return
		}
		if err := c.Start(ctx); err != nil {
			serverErr = fmt.Errorf("start the managed PostGIS for tests: %w", err)
			return
		}
		serverURL = c.DatabaseURL("postgres")
	})
	if serverErr != nil {
		tb.Fatalf("pgtest: %v", serverErr)
	}
	return serverURL
}

func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("DATABASE_URL must be a postgres:// URL for tests")
	}
	u.Path = "/" + name
	return u.String(), nil
}

// templateName is derived from the migration files so that a schema change
// gets a new template.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return "rz_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func ensureTemplate(ctx context.Context, admin *pgx.Conn, server, name string) error {
	// One creator at a time across test binaries.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext('riskzone-pgtest-template'))"); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext('riskzone-pgtest-template'))")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for template: %w", err)
	}
	if exists {
		return nil
	}
	building := name + "_new"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop half-built template: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	dsn, err := withDatabase(server, building)
	if err != nil {
		return err
	}
	if _, _, err := postgis.Migrate(ctx, dsn); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("rename template: %w", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("mark template: %w", err)
	}
	return nil
}

// NewDatabase creates a migrated database for this test, dropped when the test
// ends, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, true)
}

// NewEmptyDatabase creates an empty database (no schema, no PostGIS) for tests
// of the migrations themselves.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, false)
}

func newDatabase(tb testing.TB, migrated bool) string {
	tb.Helper()
	server := ServerURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatalf("pgtest: connect to test server: %v", err)
	}
	defer admin.Close(context.Background())
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "rz_test_" + strings.ToLower(hex.EncodeToString(rnd[:]))
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if migrated {
		tmpl, err := templateName()
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		if err := ensureTemplate(ctx, admin, server, tmpl); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		create += " TEMPLATE " + pgx.Identifier{tmpl}.Sanitize() + " OWNER " + pgx.Identifier{postgis.OwnerRole}.Sanitize()
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, server)
		if err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// AppURL is dsn (a URL NewDatabase returned) as the app role riskzone_app:
// the URL `serve` would be given.
func AppURL(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		tb.Fatalf("pgtest: %q is not a postgres:// URL", dsn)
	}
	if pw := os.Getenv("RISKZONE_TEST_APP_PASSWORD"); pw != "" {
		u.User = url.UserPassword(postgis.AppRole, pw)
	} else {
		u.User = url.User(postgis.AppRole)
	}
	return u.String()
}

// OwnerURL is dsn (a URL NewDatabase returned) acting as the owner role.
func OwnerURL(dsn string) string { return postgis.AsRole(dsn, postgis.OwnerRole) }

// NewStore opens a Store on a fresh migrated database as the app role, as
// `serve` connects; it is closed when the test ends.
func NewStore(tb testing.TB) *postgis.Store {
	tb.Helper()
	dsn := NewDatabase(tb)
	return open(tb, AppURL(tb, dsn))
}

// NewOwnerStore opens a Store on a fresh migrated database acting as the
// owner role: for tests of the schema's own guards (triggers that hold even
// for the owner) and of operators' tools that replace data (demo --replace,
// bulk imports); closed when the test ends.
func NewOwnerStore(tb testing.TB) *postgis.Store {
	tb.Helper()
	return open(tb, OwnerURL(NewDatabase(tb)))
}

// OpenAs opens a Store on dsn, closed when the test ends.
func OpenAs(tb testing.TB, dsn string) *postgis.Store {
	tb.Helper()
	return open(tb, dsn)
}

func open(tb testing.TB, dsn string) *postgis.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgis.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// OwnerURLOf is the URL of s's database acting as the owner role: for a
// test's set-up that only the owner may do (ALTER DATABASE ... SET).
func OwnerURLOf(tb testing.TB, s *postgis.Store) string {
	tb.Helper()
	dsn, err := withDatabase(ServerURL(tb), s.Pool.Config().ConnConfig.Database)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return OwnerURL(dsn)
}

// AdminExec runs sql on s's database as the test server's own login (a
// superuser on the managed cluster): for set-up no riskzone role may do,
// such as a database-level custom setting (ALTER DATABASE ... SET
// riskzone.clock, which PostgreSQL reserves to superusers).
func AdminExec(tb testing.TB, s *postgis.Store, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := withDatabase(ServerURL(tb), s.Pool.Config().ConnConfig.Database)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}
