package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

// lineAfter is the rest of the output line that starts with prefix.
func lineAfter(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	return ""
}

// The standby commands end to end on the managed cluster: create prints a
// standby URL that riskzone can read but not write through; promote prints
// the DATABASE_URL that resumes writes, with what the primary wrote before
// still there; remove deletes it.
func TestStandbyCreatePromoteRemoveCLI(t *testing.T) {
	primaryPort := localpg.DefaultPort
	if p, err := strconv.Atoi(os.Getenv("RISKZONE_PG_PORT")); err == nil {
		primaryPort = p
	}
	lockStandbyPorts(t, primaryPort)
	port := primaryPort + 1
	remove := func() { runCLI(t, nil, time.Minute, "db", "standby", "remove", "promo") }
	remove() // what a crashed earlier run left
	if r := runCLI(t, nil, 3*time.Minute, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A scratch table in the primary's postgres database: nothing of the
	// riskzone database is changed on the primary.
	primary, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", primaryPort))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	if _, err := primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS standby_cli_probe (v text)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		remove()
		_, _ = primary.Exec(context.Background(), "DROP TABLE IF EXISTS standby_cli_probe")
	})

	r := runCLI(t, nil, 3*time.Minute, "db", "standby", "create", "--name", "promo", "--port", strconv.Itoa(port))
	standbyURL := fmt.Sprintf("postgres://riskzone_app@127.0.0.1:%d/riskzone?sslmode=disable", port)
	if r.code != 0 || !strings.HasSuffix(r.stdout, standbyURL+"\n") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q; want the standby URL last", r.code, r.stdout, r.stderr)
	}
	mark := fmt.Sprintf("before promotion %d", time.Now().UnixNano())
	if _, err := primary.Exec(ctx, "INSERT INTO standby_cli_probe VALUES ($1)", mark); err != nil {
		t.Fatal(err)
	}
	var target string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	standby, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for replayed := false; !replayed; {
		if err := standby.QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", target).Scan(&replayed); err != nil {
			t.Fatalf("the standby did not replay to %s: %v", target, err)
		}
		if !replayed {
			<-tick.C
		}
	}
	if r := runCLI(t, []string{"DATABASE_URL=" + standbyURL}, time.Minute, "user", "list"); r.code != 0 {
		t.Fatalf("user list on the standby: %+v", r)
	}
	add := []string{"user", "add", "standby.promo", "--role", "expert", "--no-password"}
	if r := runCLI(t, []string{"DATABASE_URL=" + standbyURL}, time.Minute, add...); r.code == 0 || !strings.Contains(r.stderr, "read-only") {
		t.Fatalf("user add on the standby: exit %d, stderr %q; want a read-only refusal", r.code, r.stderr)
	}

	r = runCLI(t, nil, time.Minute, "db", "standby", "promote", "promo")
	dbURL, migURL := lineAfter(r.stdout, "DATABASE_URL="), lineAfter(r.stdout, "RISKZONE_MIGRATE_DATABASE_URL=")
	if r.code != 0 || dbURL != standbyURL || migURL == "" {
		t.Fatalf("promote: exit %d, stdout %q, stderr %q; want DATABASE_URL=%s", r.code, r.stdout, r.stderr, standbyURL)
	}
	env := []string{"DATABASE_URL=" + dbURL, "RISKZONE_MIGRATE_DATABASE_URL=" + migURL}
	if r := runCLI(t, env, time.Minute, add...); r.code != 0 {
		t.Fatalf("user add on the promoted standby: %+v", r)
	}
	if r := runCLI(t, env, time.Minute, "user", "list"); r.code != 0 || !strings.Contains(r.stdout, "standby.promo") {
		t.Fatalf("user list on the promoted standby: %+v", r)
	}
	var n int
	if err := standby.QueryRow(ctx, "SELECT count(*) FROM standby_cli_probe WHERE v = $1", mark).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the primary's last write on the promoted standby: %d rows, %v", n, err)
	}
	if r := runCLI(t, nil, time.Minute, "user", "list"); r.code != 0 || strings.Contains(r.stdout, "standby.promo") {
		t.Fatalf("the old primary got the promoted standby's write: %+v", r)
	}
	standby.Close(ctx)
	if r := runCLI(t, nil, time.Minute, "db", "standby", "remove", "promo"); r.code != 0 || !strings.Contains(r.stdout, "removed standby promo") {
		t.Fatalf("remove: %+v", r)
	}
	if r := runCLI(t, nil, time.Minute, "db", "standby", "status"); !strings.Contains(r.stdout, "no standbys") {
		t.Fatalf("status after remove: %+v", r)
	}
}
