package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The public pool is a pool of its own on the same database: its size
// capped, its sessions under statement_timeout (a longer statement fails
// with 57014 and the connection comes back usable), the main pool's
// sessions without one; closing the main store closes it too.
func TestOpenPublicPool(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	for _, bad := range []postgis.PublicPoolConfig{{}, {MaxConns: 2, StatementTimeout: -time.Second}} {
		if _, err := s.OpenPublic(bad); err == nil {
			t.Errorf("a public pool %+v was opened", bad)
		}
	}
	pub, err := s.OpenPublic(postgis.PublicPoolConfig{MaxConns: 3, StatementTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Pool == s.Pool || pub.Pool.Config().MaxConns != 3 {
		t.Fatalf("public pool: the main one %v, max %d", pub.Pool == s.Pool, pub.Pool.Config().MaxConns)
	}
	var pubTimeout, app, mainTimeout, mainApp string
	if err := pub.Pool.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&pubTimeout, &app); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&mainTimeout, &mainApp); err != nil {
		t.Fatal(err)
	}
	if pubTimeout != "150ms" || app != postgis.PublicApplicationName || mainTimeout != "0" || mainApp != "riskzone" {
		t.Errorf("statement_timeout: public %q (%q), main %q (%q); want 150ms riskzone-public, 0 riskzone", pubTimeout, app, mainTimeout, mainApp)
	}
	start := time.Now()
	_, err = pub.Pool.Exec(ctx, `SELECT pg_sleep(30)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || time.Since(start) > 20*time.Second {
		t.Fatalf("a 30 s statement on the public pool: %v after %v; want SQLSTATE 57014 at the timeout", err, time.Since(start))
	}
	var one int
	if err := pub.Pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("the public pool after a timeout: %v", err)
	}
	if n := pub.Pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d public connections still taken", n)
	}
	s.Close()
	if err := pub.Pool.Ping(ctx); err == nil {
		t.Error("the public pool still answers after the main store closed")
	}
}
