package postgis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"

	"github.com/riskzone/riskzone/migrations"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// appendOnly are the tables the serving role may only INSERT into and SELECT from.
var appendOnly = []string{"audit_log", "notices", "notice_zones"}

// The serving role (pgtest.NewStore connects as riskzone_app, as `serve`
// does) writes and reads the audit log and the notices, and the database
// refuses it UPDATE, DELETE and TRUNCATE on them by privilege (42501),
// before any trigger runs.
func TestAppRoleCannotRewriteHistory(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	var who string
	if err := s.Pool.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != postgis.AppRole {
		t.Fatalf("the test store acts as %q (%v), want %s", who, err, postgis.AppRole)
	}
	// INSERT and SELECT work.
	if err := s.Audit(ctx, zoning.Origin{Actor: zoning.CLI(), Reason: "why"}.Entry("test.write", "thing", "1")); err != nil {
		t.Fatalf("insert into the audit log as %s: %v", postgis.AppRole, err)
	}
	mustExec(t, s, `INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '临河区', `+square+`)`)
	mustExec(t, s, `INSERT INTO notices (county_id, kind, title_zh, title_en, body_zh, body_en, effective_at, cap_identifier, cap_msg_type, cap_xml)
		VALUES (1, 'designate', '通告', 'Notice', '正文', 'Body', now(), 'cap-1', 'Alert', '<alert/>')`)
	var audits, notices int
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_log WHERE action = 'test.write'), (SELECT count(*) FROM notices)`).
		Scan(&audits, &notices); err != nil || audits != 1 || notices != 1 {
		t.Fatalf("read back %d audit rows and %d notices (%v), want 1 and 1", audits, notices, err)
	}
	for _, table := range appendOnly {
		for _, stmt := range []string{
			"UPDATE " + table + " SET " + map[string]string{"audit_log": "reason = 'rewritten'", "notices": "title_en = 'x'", "notice_zones": "version = 2"}[table],
			"DELETE FROM " + table,
			"TRUNCATE " + table,
			"TRUNCATE " + table + " CASCADE",
		} {
			_, err := s.Pool.Exec(ctx, stmt)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s as %s: %v, want insufficient_privilege (42501)", stmt, postgis.AppRole, err)
			}
		}
	}
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_log WHERE action = 'test.write' AND reason = 'why'), (SELECT count(*) FROM notices WHERE title_en = 'Notice')`).
		Scan(&audits, &notices); err != nil || audits != 1 || notices != 1 {
		t.Fatalf("after the refusals: %d audit rows and %d notices as written (%v), want 1 and 1", audits, notices, err)
	}
	// No DDL, and nothing the schema version table would take.
	for _, stmt := range []string{
		`CREATE TABLE sneaky (id int)`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`DROP TRIGGER notices_immutable ON notices`,
		`UPDATE schema_version SET version = 1`,
		`TRUNCATE buildings`,
	} {
		_, err := s.Pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as %s: %v, want insufficient_privilege (42501)", stmt, postgis.AppRole, err)
		}
	}
	if role, rewrite, err := s.ServingRole(ctx); err != nil || role != postgis.AppRole || rewrite {
		t.Errorf("ServingRole = %q, may rewrite %v (%v); want %s, false", role, rewrite, err, postgis.AppRole)
	}
	owner := pgtest.OpenAs(t, pgtest.OwnerURLOf(t, s))
	if role, rewrite, err := owner.ServingRole(ctx); err != nil || role != postgis.OwnerRole || !rewrite {
		t.Errorf("ServingRole of the owner = %q, may rewrite %v (%v); want %s, true", role, rewrite, err, postgis.OwnerRole)
	}
}

// Migrations run as the owner role: it owns every object of the schema,
// the app role gets data privileges (the append-only tables INSERT and
// SELECT only), tables of later migrations follow by default privileges,
// and a second migrate is a no-op.
func TestMigrateAsOwnerIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.NewEmptyDatabase(t)
	latest, _ := postgis.LatestMigration()
	if _, to, err := postgis.Migrate(ctx, dsn); err != nil || to != latest {
		t.Fatalf("migrate: to %d (%v), want %d", to, err, latest)
	}
	checkRoles(t, dsn)
	before := privilegeFingerprint(t, dsn)
	if from, to, err := postgis.Migrate(ctx, dsn); err != nil || from != latest || to != latest {
		t.Fatalf("second migrate: %d -> %d (%v), want a no-op at %d", from, to, err, latest)
	}
	if after := privilegeFingerprint(t, dsn); after != before {
		t.Errorf("the second migrate changed owners or grants:\n%s\nwant:\n%s", after, before)
	}
	// A later migration's table: the owner creates it, the app role may
	// read and write it by default privileges, but not empty it.
	c := connect(t, postgis.AsRole(dsn, postgis.OwnerRole))
	if _, err := c.Exec(ctx, `CREATE TABLE later_table (id int)`); err != nil {
		t.Fatalf("the owner role creates a table: %v", err)
	}
	var dml, truncate bool
	if err := c.QueryRow(ctx, `SELECT has_table_privilege($1, 'later_table', 'SELECT, INSERT, UPDATE, DELETE'), has_table_privilege($1, 'later_table', 'TRUNCATE')`,
		postgis.AppRole).Scan(&dml, &truncate); err != nil || !dml || truncate {
		t.Errorf("app role on a new table: data %v, truncate %v (%v); want true, false", dml, truncate, err)
	}
}

// A database an older release migrated (up to 011, every object owned by the
// migrating superuser) is handed to the owner role by the next migrate.
func TestMigrateAdoptsAnOlderDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.NewEmptyDatabase(t)
	c := connect(t, dsn)
	m, err := migrate.NewMigrator(ctx, c, postgis.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, 11); err != nil {
		t.Fatalf("migrate to 11 the old way: %v", err)
	}
	var notOwned int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1`, postgis.OwnerRole).Scan(&notOwned); err != nil || notOwned == 0 {
		t.Fatalf("%d tables not owned by %s after the old migration (%v): the test set-up is wrong", notOwned, postgis.OwnerRole, err)
	}
	if from, to, err := postgis.Migrate(ctx, dsn); err != nil || from != 11 {
		t.Fatalf("migrate from 11: %d -> %d: %v", from, to, err)
	}
	checkRoles(t, dsn)
	s := pgtest.OpenAs(t, pgtest.AppURL(t, dsn))
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("ready as %s after the upgrade: %v", postgis.AppRole, err)
	}
}

// A migration login that may not act as the owner role is refused with a
// message naming the fix, and changes nothing.
func TestMigrateRefusesANonOwnerLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewEmptyDatabase(t)
	admin := connect(t, dsn)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	login := "rz_test_login_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec(ctx, "CREATE ROLE "+login+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = connect(t, dsn).Exec(context.Background(), "DROP ROLE IF EXISTS "+login) })
	u, _ := url.Parse(dsn)
	u.User = url.User(login)
	_, _, err := postgis.Migrate(ctx, u.String())
	if err == nil || !strings.Contains(err.Error(), "GRANT "+postgis.OwnerRole+" TO "+login) {
		t.Fatalf("migrate as %s: %v; want a refusal naming GRANT %s TO %s", login, err, postgis.OwnerRole, login)
	}
	var tables int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("%d tables after a refused migrate (%v), want 0", tables, err)
	}
}

// checkRoles asserts the owner role owns every object of the schema and the
// app role holds its privileges and no more on the append-only tables.
func checkRoles(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	c := connect(t, dsn)
	rows, err := c.Query(ctx, `
		SELECT c.relname || ' (' || pg_get_userbyid(c.relowner) || ')'
		FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S')
		  AND c.relowner <> $1::regrole
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
		UNION ALL
		SELECT p.proname || ' (' || pg_get_userbyid(p.proowner) || ')'
		FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> $1::regrole
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`, postgis.OwnerRole)
	if err != nil {
		t.Fatal(err)
	}
	others, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		t.Errorf("objects not owned by %s: %s", postgis.OwnerRole, strings.Join(others, ", "))
	}
	for _, table := range appendOnly {
		var read, write, rewrite bool
		if err := c.QueryRow(ctx, `SELECT has_table_privilege($1, $2, 'SELECT'), has_table_privilege($1, $2, 'INSERT'),
			has_table_privilege($1, $2, 'UPDATE') OR has_table_privilege($1, $2, 'DELETE') OR has_table_privilege($1, $2, 'TRUNCATE')`,
			postgis.AppRole, table).Scan(&read, &write, &rewrite); err != nil {
			t.Fatal(err)
		}
		if !read || !write || rewrite {
			t.Errorf("%s on %s: select %v, insert %v, update/delete/truncate %v; want true, true, false", postgis.AppRole, table, read, write, rewrite)
		}
	}
	var missing []string
	rows, err = c.Query(ctx, `SELECT c.relname::text FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> ALL ($2)
		AND c.relname NOT IN ('spatial_ref_sys', 'schema_version')
		AND NOT has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE')`, postgis.AppRole, appendOnly)
	if err != nil {
		t.Fatal(err)
	}
	if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%s lacks data privileges on %s", postgis.AppRole, strings.Join(missing, ", "))
	}
}

// privilegeFingerprint is every owner and grant of schema public.
func privilegeFingerprint(t *testing.T, dsn string) string {
	t.Helper()
	var fp string
	if err := connect(t, dsn).QueryRow(context.Background(), `
		SELECT string_agg(relname || ':' || pg_get_userbyid(relowner) || ':' || coalesce(relacl::text, ''), E'\n' ORDER BY relname)
		FROM pg_class WHERE relnamespace = 'public'::regnamespace`).Scan(&fp); err != nil {
		t.Fatal(err)
	}
	return fp
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
