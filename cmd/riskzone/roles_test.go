package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// A deployment with two logins: `migrate --migrate-database-url` migrates as
// the owner role (a second run is a no-op), and the data commands and serve
// then work with DATABASE_URL as the app role alone.
func TestMigrateLoginAndAppLogin(t *testing.T) {
	admin := pgtest.NewEmptyDatabase(t)
	app := pgtest.AppURL(t, admin)
	latest, _ := postgis.LatestMigration()

	// Before any migration, the app login cannot serve, and says what to run.
	r := runCLI(t, []string{"DATABASE_URL=" + app}, 30*time.Second, "serve", "--addr", "127.0.0.1:0", "--insecure-dev")
	if r.code == 0 || !strings.Contains(r.stderr, "run riskzone migrate with --migrate-database-url") {
		t.Fatalf("serve as the app role on an unmigrated database: exit %d, want a refusal naming riskzone migrate:\n%s", r.code, r.stderr)
	}
	// Nor can it migrate: it is not a member of the owner role.
	r = runCLI(t, []string{"DATABASE_URL=" + app}, time.Minute, "migrate")
	if r.code == 0 || !strings.Contains(r.stderr, "GRANT "+postgis.OwnerRole+" TO "+postgis.AppRole) {
		t.Fatalf("migrate as the app role: exit %d, want a refusal naming the grant:\n%s", r.code, r.stderr)
	}

	env := []string{"DATABASE_URL=" + app, "RISKZONE_MIGRATE_DATABASE_URL=" + admin}
	r = runCLI(t, env, time.Minute, "migrate")
	if want := fmt.Sprintf("migrated schema from version 0 to %d", latest); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("migrate: exit %d, stdout %q, want %q; stderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	r = runCLI(t, env, time.Minute, "migrate")
	if want := fmt.Sprintf("schema is current (version %d)", latest); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("second migrate: exit %d, stdout %q, want %q; stderr:\n%s", r.code, r.stdout, want, r.stderr)
	}

	// A data command with the app login alone writes, and audits, as riskzone_app.
	r = runCLI(t, []string{"DATABASE_URL=" + app}, time.Minute, "user", "add", "panel", "--role", "expert", "--password", "correct-horse-battery")
	if r.code != 0 {
		t.Fatalf("user add as the app role: exit %d:\n%s", r.code, r.stderr)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var users, audits int
	if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE username = 'panel'), (SELECT count(*) FROM audit_log WHERE entity = 'user')`).
		Scan(&users, &audits); err != nil || users != 1 || audits == 0 {
		t.Fatalf("after user add: %d users named panel, %d audit rows (%v); want 1 and some", users, audits, err)
	}
}

// serve connected as a role that may rewrite the audit log (here the
// superuser) says so at start.
func TestServeWarnsOfAPowerfulRole(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	// An address that cannot be listened on makes serve stop right after
	// its start-up checks.
	r := runCLI(t, []string{"DATABASE_URL=" + dsn}, 30*time.Second, "serve", "--addr", "256.0.0.1:1", "--insecure-dev")
	if !strings.Contains(r.stderr, "may rewrite the audit log") {
		t.Fatalf("serve as a superuser: no warning about the role:\n%s", r.stderr)
	}
	r = runCLI(t, []string{"DATABASE_URL=" + pgtest.AppURL(t, dsn)}, 30*time.Second, "serve", "--addr", "256.0.0.1:1", "--insecure-dev")
	if strings.Contains(r.stderr, "may rewrite the audit log") || !strings.Contains(r.stderr, "listen on 256.0.0.1:1") {
		t.Fatalf("serve as %s: want no warning about its role, then the listen error:\n%s", postgis.AppRole, r.stderr)
	}
}
