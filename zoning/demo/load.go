package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// ErrNotEmpty is returned by Load when the database already holds geography
// or cases and Options.Replace is not set. It is a zoning.ErrConflict.
var ErrNotEmpty = zoning.Errorf(zoning.ErrConflict, "the database already has data")

// domainTables are emptied by a replacing load: the demo's own tables and
// everything derived from them (proposals, zones, notices and their
// deliveries). Users, sessions, API tokens, rule sets, the audit log, layer
// versions and subscribers are kept.
var domainTables = []string{
	"traces", "cases", "places", "units", "buildings", "compounds", "barriers", "admin_areas",
	"proposal_runs", "proposals", "zones", "zone_versions", "screenings",
	"notices", "notice_zones", "outbox", "delivery_attempts",
}

// keptTables must survive a replacing load; Load checks that TRUNCATE ...
// CASCADE would not reach them.
var keptTables = []string{"audit_log", "users", "sessions", "api_tokens", "rule_sets", "layer_versions", "subscribers"}

// dataTables are the tables whose rows make a database "not empty".
var dataTables = []string{"buildings", "admin_areas", "compounds", "barriers", "places", "cases"}

// ProgressFunc receives progress while a load runs: the table being loaded,
// rows loaded so far over all tables, and the total to load.
type ProgressFunc func(table Table, done, total int64)

// Summary describes a finished load.
type Summary struct {
	Options       Options
	Counts        Counts
	Population    int64
	County        string
	CountyID      int64
	CaseBuildings int
	// Excluded counts the excluded cases by category (see ExclusionCategories).
	Excluded      map[string]int
	UnknownSource int
	Clusters      []Cluster
	Duration      time.Duration
}

// Summary describes the county without loading it.
func (c *City) Summary() *Summary {
	s := &Summary{
		Options:       c.opt,
		Counts:        c.counts,
		Population:    c.population,
		County:        countyName.zh,
		CountyID:      countyID,
		CaseBuildings: c.outbreak.caseBuildings,
		Excluded:      map[string]int{},
		Clusters:      c.Clusters(),
	}
	for i := range c.outbreak.cases {
		cr := &c.outbreak.cases[i]
		if cr.exclusion >= 0 {
			s.Excluded[exclusionCategories[cr.exclusion]]++
		}
		if !cr.sourceKnown {
			s.UnknownSource++
		}
	}
	return s
}

// Querier runs a query returning one row: a *pgxpool.Pool, *pgx.Conn or pgx.Tx.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Existing counts the rows of the tables that make a database "not empty"
// (buildings, admin areas, compounds, barriers, places, cases); a table is
// listed only when it has rows.
func Existing(ctx context.Context, q Querier) (map[string]int64, error) {
	found := map[string]int64{}
	for _, t := range dataTables {
		// Table names come from a fixed list, never from input. Count only
		// what exists: counting a million rows to learn "not empty" is waste.
		var n int64
		err := q.QueryRow(ctx, "SELECT CASE WHEN EXISTS (SELECT 1 FROM "+t+") THEN (SELECT count(*) FROM "+t+") ELSE 0 END").Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		if n > 0 {
			found[t] = n
		}
	}
	return found, nil
}

func describe(found map[string]int64) string {
	var parts []string
	for _, t := range dataTables {
		if n, ok := found[t]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	return strings.Join(parts, ", ")
}

// Load generates the county of opt and loads it in one transaction, so a
// failed load leaves nothing behind. Without opt.Replace it refuses (with
// ErrNotEmpty, changing nothing) when the database has geography or cases;
// with it, it first empties the domain tables (see domainTables). Afterwards
// it moves the identity sequences past the loaded ids, bumps every layer
// version and analyzes the tables.
func Load(ctx context.Context, store *postgis.Store, opt Options, progress ProgressFunc) (*Summary, error) {
	start := time.Now()
	city, err := Plan(opt)
	if err != nil {
		return nil, err
	}
	conn, err := store.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo load: acquire connection: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo load: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit

	// One demo load at a time; a second one waits and then sees the first's data.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('riskzone-demo-load'))"); err != nil {
		return nil, fmt.Errorf("demo load: lock: %w", err)
	}
	found, err := Existing(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("demo load: %w", err)
	}
	if len(found) > 0 {
		if !opt.Replace {
			return nil, fmt.Errorf("%w (%s); load with --replace to delete the demo data first", ErrNotEmpty, describe(found))
		}
		if err := truncate(ctx, tx); err != nil {
			return nil, err
		}
	}

	var total int64
	for _, t := range Tables() {
		total += int64(city.Rows(t))
	}
	var done int64
	for _, t := range Tables() {
		if err := copyTable(ctx, conn.Conn().PgConn(), city, t, func(n int) {
			done += int64(n)
			if progress != nil {
				progress(t, done, total)
			}
		}); err != nil {
			return nil, err
		}
	}
	for _, t := range Tables() {
		// Explicit ids were loaded: move each identity sequence past them.
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), max(id)) FROM %[1]s HAVING max(id) IS NOT NULL", t)
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("demo load: set %s id sequence: %w", t, err)
		}
	}
	// Every layer changed (a replacing load also emptied zones and proposals);
	// replicas learn of it at commit.
	rows, err := tx.Query(ctx, "UPDATE layer_versions SET version = version + 1, changed_at = now() RETURNING layer")
	if err != nil {
		return nil, fmt.Errorf("demo load: bump layer versions: %w", err)
	}
	layers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("demo load: bump layer versions: %w", err)
	}
	slices.Sort(layers)
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", postgis.LayersChannel, fmt.Sprint(layers)); err != nil {
		return nil, fmt.Errorf("demo load: notify layer change: %w", err)
	}
	sum := city.Summary()
	if err := postgis.WriteAudit(ctx, tx, zoning.AuditEntry{
		Actor: opt.actor(), Action: "demo.load", Entity: "county", EntityID: strconv.Itoa(countyID),
		Reason: "riskzone demo", After: map[string]any{
			"seed": opt.Seed, "buildings": opt.Buildings, "today": city.today.Format("2006-01-02"),
			"replace": opt.Replace, "replaced": describe(found), "counts": sum.Counts,
		},
	}); err != nil {
		return nil, fmt.Errorf("demo load: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("demo load: commit: %w", err)
	}
	for _, t := range Tables() {
		if _, err := conn.Exec(ctx, "ANALYZE "+t.String()); err != nil {
			return nil, fmt.Errorf("demo load: analyze %s: %w", t, err)
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// truncate empties the domain tables, after checking that CASCADE would not
// reach a table that must be kept (a later migration could add such a
// foreign key; failing is better than losing users or the audit log).
func truncate(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `
WITH RECURSIVE reach(rel) AS (
    SELECT c.oid FROM pg_class c
    WHERE c.oid = ANY (SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t)
  UNION
    SELECT con.conrelid FROM pg_constraint con JOIN reach ON con.confrelid = reach.rel
    WHERE con.contype = 'f'
)
SELECT rel::regclass::text FROM reach WHERE rel::regclass::text = ANY ($2::text[])`, domainTables, keptTables)
	if err != nil {
		return fmt.Errorf("demo load: check truncate cascade: %w", err)
	}
	kept, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("demo load: check truncate cascade: %w", err)
	}
	if len(kept) > 0 {
		return fmt.Errorf("demo load: emptying the demo tables would cascade to %s; refusing", strings.Join(kept, ", "))
	}
	if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(domainTables, ", ")+" CASCADE"); err != nil {
		return fmt.Errorf("demo load: empty the demo tables: %w", err)
	}
	return nil
}

// copyTable streams table t from the generator into COPY: the generator
// writes into one end of a pipe in its own goroutine while pgconn reads the
// other, so only a buffer's worth of rows is ever in memory.
func copyTable(ctx context.Context, pc *pgconn.PgConn, city *City, t Table, progress func(int)) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		err := city.WriteTable(ctx, t, bw, progress)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
		done <- err
	}()
	tag, err := pc.CopyFrom(ctx, pr, t.CopySQL())
	pr.CloseWithError(errCopyEnded) // unblocks the generator if COPY stopped early
	genErr := <-done
	if err != nil {
		if genErr != nil && !errors.Is(genErr, errCopyEnded) {
			return fmt.Errorf("demo load: copy %s: %w", t, genErr)
		}
		return fmt.Errorf("demo load: copy %s: %w", t, err)
	}
	if genErr != nil {
		return fmt.Errorf("demo load: copy %s: %w", t, genErr)
	}
	if want := int64(city.Rows(t)); tag.RowsAffected() != want {
		return fmt.Errorf("demo load: copy %s: %d rows loaded, want %d", t, tag.RowsAffected(), want)
	}
	return nil
}

var errCopyEnded = errors.New("copy ended")
