package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

const square = "ST_GeomFromText('MULTIPOLYGON(((117 36,117.001 36,117.001 36.001,117 36.001,117 36)))', 4326)"

// The database itself refuses rows that break the domain's invariants.
func TestSchemaRefusesBadRows(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	mustExec(t, s, `INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '临河区', `+square+`)`)
	mustExec(t, s, `INSERT INTO buildings (id, county_id, population, geom) VALUES (1, 1, 10, `+square+`)`)

	mustExec(t, s, `INSERT INTO cases (id, case_no, county_id, kind, report_date, residence_building_id) VALUES (1, 'c0', 1, 'confirmed', '2022-11-20', 1)`)
	mustExec(t, s, `INSERT INTO zones (id, county_id, current_version, status) VALUES (1, 1, 1, 'active')`)
	mustExec(t, s, `INSERT INTO proposal_runs (id, county_id, at, params, input_snapshot) VALUES (1, 1, now(), '{}', '{}')`)
	// Rows above took explicit ids: move the sequences past them.
	for _, table := range []string{"admin_areas", "buildings", "cases", "zones", "proposal_runs"} {
		mustExec(t, s, `SELECT setval(pg_get_serial_sequence($1, 'id'), 100)`, table)
	}
	const (
		check = "23514" // check_violation
		fk    = "23503" // foreign_key_violation
		typ   = "22023" // invalid_parameter_value (geometry typmod)
	)
	refused := map[string]struct{ sql, code string }{
		"self-intersecting building":   {`INSERT INTO buildings (geom) VALUES (ST_GeomFromText('MULTIPOLYGON(((117 36,117.001 36.001,117.001 36,117 36.001,117 36)))', 4326))`, check},
		"wrong SRID":                   {`INSERT INTO buildings (geom) VALUES (ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)))', 3857))`, typ},
		"negative population":          {`INSERT INTO buildings (population, geom) VALUES (-1, ` + square + `)`, check},
		"unknown admin level":          {`INSERT INTO admin_areas (level, name, geom) VALUES ('planet', 'x', ` + square + `)`, check},
		"road without class":           {`INSERT INTO barriers (kind, geom) VALUES ('road', ST_GeomFromText('LINESTRING(117 36,117.01 36)', 4326))`, check},
		"water as a line":              {`INSERT INTO barriers (kind, geom) VALUES ('water', ST_GeomFromText('LINESTRING(117 36,117.01 36)', 4326))`, check},
		"barrier as a point":           {`INSERT INTO barriers (kind, geom) VALUES ('wall', ST_GeomFromText('POINT(117 36)', 4326))`, check},
		"case without residence":       {`INSERT INTO cases (case_no, county_id, kind, report_date) VALUES ('c1', 1, 'confirmed', '2022-11-20')`, check},
		"unknown exclusion":            {`INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id, exclusion_category, exclusion_assessment, excluded_at) VALUES ('c2', 1, 'confirmed', '2022-11-20', 1, 'bored', 'x', now())`, check},
		"exclusion without assessment": {`INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id, exclusion_category) VALUES ('c3', 1, 'confirmed', '2022-11-20', 1, 'home_quarantine')`, check},
		"case of unknown county":       {`INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id) VALUES ('c4', 999, 'confirmed', '2022-11-20', 1)`, fk},
		"trace ending before start":    {`INSERT INTO traces (case_id, building_id, starts_at, ends_at) VALUES (1, 1, '2022-11-20 10:00Z', '2022-11-20 09:00Z')`, check},
		"screening over-counted":       {`INSERT INTO screenings (zone_id, round_date, population, tested, negatives, positives) VALUES (1, '2022-11-20', 10, 5, 5, 1)`, check},
		"clear password":               {`INSERT INTO users (username, role, password_hash) VALUES ('bob', 'admin', 'hunter2')`, check},
		"unknown role":                 {`INSERT INTO users (username, role) VALUES ('eve', 'root')`, check},
		"rejection without reason":     {`INSERT INTO proposals (run_id, county_id, level, status, geom, population, staff_required, area_m2, decided_at) VALUES (1, 1, 'high', 'rejected', ` + square + `, 1, 1, 1, now())`, check},
	}
	for name, c := range refused {
		_, err := s.Pool.Exec(ctx, c.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != c.code {
			t.Errorf("%s: got %v, want SQLSTATE %s", name, err, c.code)
		}
	}
	// The same rows with the fault fixed are accepted: the refusals above
	// came from the rule under test, not from something else.
	mustExec(t, s, `INSERT INTO traces (case_id, building_id, starts_at, ends_at) VALUES (1, 1, '2022-11-20 09:00Z', '2022-11-20 10:00Z')`)
	mustExec(t, s, `INSERT INTO screenings (zone_id, round_date, population, tested, negatives, positives) VALUES (1, '2022-11-20', 10, 6, 5, 1)`)
	mustExec(t, s, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id, exclusion_category, exclusion_assessment, excluded_at) VALUES ('c2', 1, 'confirmed', '2022-11-20', 1, 'home_quarantine', 'found in home quarantine', now())`)
	mustExec(t, s, `INSERT INTO barriers (kind, road_class, geom) VALUES ('road', 'secondary', ST_GeomFromText('LINESTRING(117 36,117.01 36)', 4326))`)
	var n int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM buildings").Scan(&n); err != nil || n != 1 {
		t.Fatalf("buildings: %d (%v); a refused insert left a row", n, err)
	}
}

func TestZoneVersionsImmutableAndNonOverlapping(t *testing.T) {
	// As the owner: the triggers hold even for the role that owns the
	// tables (the app role is refused by privileges first, roles_test.go).
	s := pgtest.NewOwnerStore(t)
	ctx := context.Background()
	mustExec(t, s, `INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '临河区', `+square+`)`)
	mustExec(t, s, `INSERT INTO zones (id, county_id, current_version, status) VALUES (1, 1, 1, 'active')`)
	insertVersion := func(v int, from, to string) error {
		_, err := s.Pool.Exec(ctx, `INSERT INTO zone_versions (zone_id, version, level, status, change, geom, building_ids,
			population, staff_required, area_m2, rule_set_id, clock_start, valid_from, valid_to, reason)
			VALUES (1, $1, 'high', 'active', 'designate', `+square+`, '{}', 0, 0, 1, '2022-11', '2022-11-20', $2, $3, 'test')`,
			v, from, nullable(to))
		return err
	}
	if err := insertVersion(1, "2022-11-20 00:00Z", "2022-11-21 00:00Z"); err != nil {
		t.Fatal(err)
	}
	if err := insertVersion(2, "2022-11-20 12:00Z", ""); err == nil {
		t.Fatal("an overlapping version of the same zone was accepted")
	}
	if err := insertVersion(2, "2022-11-21 00:00Z", ""); err != nil {
		t.Fatalf("the next version: %v", err)
	}
	for name, sql := range map[string]string{
		"edit geometry":  `UPDATE zone_versions SET population = 5 WHERE version = 1`,
		"reopen":         `UPDATE zone_versions SET valid_to = NULL WHERE version = 1`,
		"delete":         `DELETE FROM zone_versions WHERE version = 1`,
		"audit update":   `UPDATE audit_log SET reason = 'x'`,
		"audit truncate": `TRUNCATE audit_log`,
		"audit delete":   `DELETE FROM audit_log`,
	} {
		if name == "audit update" || name == "audit delete" {
			mustExec(t, s, `INSERT INTO audit_log (actor, role, action, entity) VALUES ('t', 'admin', 'test', 'x')`)
		}
		_, err := s.Pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "23000" && !strings.HasPrefix(pgErr.Code, "23")) {
			t.Errorf("%s: %v; want an integrity violation", name, err)
		}
	}
	// Closing the open version once is allowed.
	mustExec(t, s, `UPDATE zone_versions SET valid_to = '2022-11-22 00:00Z' WHERE version = 2`)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustExec(t *testing.T, s *postgis.Store, sql string, args ...any) {
	t.Helper()
	if _, err := s.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
