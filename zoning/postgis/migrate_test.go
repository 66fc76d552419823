package postgis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

func TestMigrateEmptyThenNoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.NewEmptyDatabase(t)
	latest, err := postgis.LatestMigration()
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := postgis.Migrate(ctx, dsn)
	if err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	if from != 0 || to != latest {
		t.Fatalf("first migrate went %d -> %d, want 0 -> %d", from, to, latest)
	}
	before := schemaFingerprint(t, dsn)
	from, to, err = postgis.Migrate(ctx, dsn)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if from != latest || to != latest {
		t.Fatalf("second migrate went %d -> %d, want a no-op at %d", from, to, latest)
	}
	if after := schemaFingerprint(t, dsn); after != before {
		t.Fatalf("re-running migrations changed the schema")
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.NewEmptyDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, errs[i] = postgis.Migrate(ctx, dsn)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate #%d: %v", i, err)
		}
	}
	latest, _ := postgis.LatestMigration()
	s, err := postgis.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
		t.Fatalf("schema version %d (%v), want %d", v, err, latest)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("ready after concurrent migrations: %v", err)
	}
	// The seeded rule sets exist exactly once: no migration ran twice.
	var rules int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM rule_sets").Scan(&rules); err != nil || rules != 2 {
		t.Fatalf("rule sets: %d (%v), want 2", rules, err)
	}
}

func TestReadyRefusesUnmigrated(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewEmptyDatabase(t)
	s, err := postgis.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx); err == nil {
		t.Fatal("Ready on an unmigrated database: want an error")
	}
}

func schemaFingerprint(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var fp string
	err = c.QueryRow(ctx, `SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name))
		FROM information_schema.columns WHERE table_schema = 'public'`).Scan(&fp)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestMaskURL(t *testing.T) {
	cases := map[string]string{
		"postgres://u:secret@db:5432/x": "postgres://u:xxxxx@db:5432/x",
		"postgres://u@db/x?sslmode=off": "postgres://u@db/x?sslmode=off",
		"host=db password=secret":       "(database URL)",
	}
	for in, want := range cases {
		if got := postgis.MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
