package importer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// merger applies the staged rows of one import inside its transaction.
type merger struct {
	tx     pgx.Tx
	opts   Options
	sum    *Summary
	log    *slog.Logger
	step   func(string)
	counts map[string]*LayerCounts
	// backend is the PostgreSQL process of the import's connection, when
	// debug logging is on (see stepClock).
	backend int
	// unitKeys restore the primary key and unique key of units and the
	// foreign keys that reference units, when bulkStart dropped them (a
	// first load: units was empty); deriveUnits runs them as soon as the
	// new units are in, before anything needs the keys.
	unitKeys []string
}

// stepClock times a merge step for the debug log: wall time and, when the
// database runs on this host and its backend's /proc entry is readable, the
// backend's CPU time, which other work on a busy machine disturbs far less.
type stepClock struct {
	start  time.Time
	cpu    time.Duration
	hasCPU bool
}

func (m *merger) clock() stepClock {
	c := stepClock{start: time.Now()}
	c.cpu, c.hasCPU = processCPU(m.backend)
	return c
}

// done logs the step at debug level with its times and attrs.
func (m *merger) done(c stepClock, step string, attrs ...any) {
	attrs = append([]any{"step", step}, attrs...)
	attrs = append(attrs, "ms", time.Since(c.start).Milliseconds())
	if cpu, ok := processCPU(m.backend); ok && c.hasCPU {
		attrs = append(attrs, "backend_cpu_ms", (cpu - c.cpu).Milliseconds())
	}
	m.log.Debug("import step", attrs...)
}

// processCPU is the user + system CPU time of a local process (Linux /proc;
// the kernel counts in 1/100 s).
func processCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which ends with the last ')': state is
	// the 3rd field of the line, utime the 14th, stime the 15th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * 10 * time.Millisecond, true
}

func (m *merger) exec(ctx context.Context, name string, args ...any) (int64, error) {
	c := m.clock()
	tag, err := m.tx.Exec(ctx, query(name), args...)
	if err != nil {
		return 0, fmt.Errorf("import step %s: %w", name, err)
	}
	m.done(c, name, "rows", tag.RowsAffected())
	return tag.RowsAffected(), nil
}

// queryRow runs a named step that returns one row, timed like exec.
func (m *merger) queryRow(ctx context.Context, name string, dst ...any) error {
	c := m.clock()
	if err := m.tx.QueryRow(ctx, query(name)).Scan(dst...); err != nil {
		return fmt.Errorf("import step %s: %w", name, err)
	}
	m.done(c, name)
	return nil
}

func (m *merger) layer(name string) *LayerCounts {
	c, ok := m.counts[name]
	if !ok {
		c = &LayerCounts{Layer: name}
		m.counts[name] = c
	}
	return c
}

// merge runs every step after the COPY: geometry, scope, layers, derived
// units, assignment, layer versions.
func (m *merger) merge(ctx context.Context) error {
	m.counts = map[string]*LayerCounts{}
	if m.log.Enabled(ctx, slog.LevelDebug) {
		if err := m.tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&m.backend); err != nil {
			return fmt.Errorf("backend of the import: %w", err)
		}
	}
	// One import at a time: two merges of the same source would race.
	if _, err := m.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('riskzone-import'))"); err != nil {
		return fmt.Errorf("wait for other imports: %w", err)
	}
	if m.opts.CountyRelation != 0 {
		n, err := m.exec(ctx, "scope_from_admin")
		if err != nil {
			return err
		}
		if n == 0 {
			return zoning.Errorf(zoning.ErrInvalid, "%s: --county-relation %d: the relation is not in the file or its area could not be built (see the skipped list of an import without the option)", m.opts.FileName, m.opts.CountyRelation)
		}
	}
	m.step("check geometry (ST_IsValid, ST_MakeValid)")
	if _, err := m.exec(ctx, "rows_prepare"); err != nil {
		return err
	}
	if m.opts.CountyRelation != 0 {
		if _, err := m.exec(ctx, "rows_scope"); err != nil {
			return err
		}
	}
	if _, err := m.tx.Exec(ctx, query("rows_index")); err != nil {
		return fmt.Errorf("index staging: %w", err)
	}
	if err := m.duplicates(ctx); err != nil {
		return err
	}
	if m.opts.Layer == "units" {
		if _, err := m.exec(ctx, "units_orphans"); err != nil {
			return err
		}
	}
	if err := m.readCounts(ctx); err != nil {
		return err
	}
	changed := map[string]bool{}
	for _, layer := range m.opts.layers() {
		var rebuild []string
		if layer == "buildings" {
			var err error
			if rebuild, err = m.bulkStart(ctx); err != nil {
				return err
			}
		}
		m.step("merge " + layer)
		if err := m.mergeLayer(ctx, layer); err != nil {
			return err
		}
		if layer == "buildings" && !m.opts.SkipUnits {
			m.step("derive units")
			if err := m.deriveUnits(ctx); err != nil {
				return err
			}
		}
		if err := m.restoreUnitKeys(ctx); err != nil { // when deriveUnits did not
			return err
		}
		if len(rebuild) > 0 {
			m.step("rebuild indexes and foreign keys")
			if err := m.restore(ctx, rebuild); err != nil {
				return err
			}
		}
	}
	for name, c := range m.counts {
		if c.Added+c.Changed+c.Removed > 0 {
			changed[name] = true
		}
		c.Unchanged = c.Read - c.Skipped - c.Added - c.Changed
		if c.Unchanged < 0 {
			c.Unchanged = 0
		}
	}
	m.step("assign buildings to areas")
	if err := m.reassign(ctx, changed); err != nil {
		return err
	}
	// Layer versions: units and compounds are drawn with buildings and admin.
	var bump []string
	for layer, version := range map[string]string{"admin": "admin", "compounds": "admin", "buildings": "buildings",
		"units": "buildings", "barriers": "barriers", "places": "places"} {
		if changed[layer] && !slices.Contains(bump, version) {
			bump = append(bump, version)
		}
	}
	slices.Sort(bump)
	if len(bump) > 0 {
		if _, err := m.exec(ctx, "layers_bump", bump); err != nil {
			return err
		}
	}
	m.sum.LayerVersions = bump
	if m.sum.LayerVersions == nil {
		m.sum.LayerVersions = []string{}
	}
	m.sum.Layers = sortedLayers(m.counts)
	return m.skipped(ctx)
}

// bulkStart decides on bulk mode (Options.BulkRows): when this import
// brings at least BulkRows buildings and more than the table holds, the
// secondary indexes of buildings and units (all but primary keys and unique
// ones, which the merge needs) and their foreign keys are dropped in the
// transaction, and the returned statements restore them after the merge.
// On a first load (units empty) the keys of units go too, restored as soon
// as the derived units are in (unitKeys). A
// sorted GiST build of a million footprints takes seconds, and a foreign key
// added back is validated by one join; kept, they cost a GiST insertion and
// a key lookup per row (minutes for a city). The drop holds an exclusive
// lock on buildings and units until the import commits (or rolls back,
// which restores everything untouched).
func (m *merger) bulkStart(ctx context.Context) ([]string, error) {
	staged := m.layer("buildings").Read
	if m.opts.BulkRows < 0 || staged < m.opts.BulkRows {
		return nil, nil
	}
	var existing int64
	if err := m.tx.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM buildings LIMIT $1) b", staged).Scan(&existing); err != nil {
		return nil, fmt.Errorf("count buildings: %w", err)
	}
	if existing >= staged {
		return nil, nil
	}
	// Dropping an index is the owner's: the app role (riskzone_app, as
	// `serve` connects) merges with the indexes in place.
	var owns bool
	if err := m.tx.QueryRow(ctx, `SELECT bool_and(pg_has_role(current_user, c.relowner, 'USAGE'))
		FROM pg_class c WHERE c.oid IN ('buildings'::regclass, 'units'::regclass)`).Scan(&owns); err != nil {
		return nil, fmt.Errorf("check the owner of buildings and units: %w", err)
	}
	if !owns {
		return nil, nil
	}
	// Every name and definition below comes from the catalog (regclass and
	// quote_ident output, pg_get_*def), never from input.
	rows, err := m.tx.Query(ctx, `
		SELECT 'DROP INDEX ' || x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid), 1
		FROM pg_index x
		WHERE x.indrelid IN ('buildings'::regclass, 'units'::regclass)
		  AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
		UNION ALL
		SELECT 'ALTER TABLE ' || c.conrelid::regclass::text || ' DROP CONSTRAINT ' || quote_ident(c.conname),
		       'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),
		       2
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conrelid IN ('buildings'::regclass, 'units'::regclass)
		ORDER BY 3, 1`)
	if err != nil {
		return nil, fmt.Errorf("list indexes and foreign keys: %w", err)
	}
	var drops, restore []string
	for rows.Next() {
		var drop, def string
		var order int
		if err := rows.Scan(&drop, &def, &order); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list indexes and foreign keys: %w", err)
		}
		drops, restore = append(drops, drop), append(restore, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes and foreign keys: %w", err)
	}
	// On a first load (no units at all), the keys of units go too: the
	// derived units are then written without a btree insertion each, and
	// the keys are built once, sorted (unitKeys).
	var anyUnit bool
	if err := m.tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM units)").Scan(&anyUnit); err != nil {
		return nil, fmt.Errorf("look for units: %w", err)
	}
	if !anyUnit && !m.opts.SkipUnits {
		keyDrops, keyRestore, err := m.unitKeyStatements(ctx)
		if err != nil {
			return nil, err
		}
		drops = append(keyDrops, drops...)
		m.unitKeys = keyRestore
	}
	for _, d := range drops {
		if _, err := m.tx.Exec(ctx, d); err != nil {
			return nil, fmt.Errorf("bulk load: %s: %w", d, err)
		}
	}
	m.log.Info("bulk load: indexes and foreign keys of buildings and units are rebuilt after the merge",
		"buildings", staged, "existing", existing, "dropped", len(drops), "unit_keys", len(m.unitKeys) > 0)
	m.sum.Bulk = true
	return restore, nil
}

// duplicates refuses a file with two features of one layer under one id.
func (m *merger) duplicates(ctx context.Context) error {
	rows, err := m.tx.Query(ctx, query("rows_duplicates"))
	if err != nil {
		return fmt.Errorf("look for duplicate ids: %w", err)
	}
	var dups []string
	for rows.Next() {
		var layer, id string
		var n int64
		if err := rows.Scan(&layer, &id, &n); err != nil {
			rows.Close()
			return fmt.Errorf("look for duplicate ids: %w", err)
		}
		dups = append(dups, fmt.Sprintf("%s %q (%d times)", layer, id, n))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look for duplicate ids: %w", err)
	}
	if len(dups) > 0 {
		return zoning.Errorf(zoning.ErrInvalid, "%s: the same id appears more than once: %s (ids must be unique per layer; see --map id=PROPERTY)",
			m.opts.FileName, strings.Join(dups, ", "))
	}
	return nil
}

func (m *merger) readCounts(ctx context.Context) error {
	rows, err := m.tx.Query(ctx, query("rows_counts"))
	if err != nil {
		return fmt.Errorf("count staged rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var layer string
		var read, skipped, repaired int64
		if err := rows.Scan(&layer, &read, &skipped, &repaired); err != nil {
			return fmt.Errorf("count staged rows: %w", err)
		}
		c := m.layer(layer)
		c.Read, c.Skipped, c.Repaired = read, skipped, repaired
		m.sum.SkippedTotal += skipped
	}
	return rows.Err()
}

func (m *merger) skipped(ctx context.Context) error {
	rows, err := m.tx.Query(ctx, query("rows_skipped"), m.opts.ListSkipped)
	if err != nil {
		return fmt.Errorf("list skipped rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k Skip
		if err := rows.Scan(&k.Layer, &k.SourceID, &k.Reason); err != nil {
			return fmt.Errorf("list skipped rows: %w", err)
		}
		m.sum.Skipped = append(m.sum.Skipped, k)
	}
	return rows.Err()
}

// touched counts the rows a merge step added and changed.
func (m *merger) touched(ctx context.Context, layer string) error {
	c := m.layer(layer)
	err := m.tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
		FROM import_touched WHERE layer = $1`, layer).Scan(&c.Added, &c.Changed)
	if err != nil {
		return fmt.Errorf("count merged %s: %w", layer, err)
	}
	return nil
}

func (m *merger) mergeLayer(ctx context.Context, layer string) error {
	if _, err := m.exec(ctx, "merge_"+layer); err != nil {
		return err
	}
	if err := m.touched(ctx, layer); err != nil {
		return err
	}
	c := m.layer(layer)
	switch layer {
	case "admin":
		if _, err := m.exec(ctx, "admin_parents"); err != nil {
			return err
		}
		return m.removeByIDs(ctx, c, "remove_admin", "delete_admin", "unlink_admin", "unlink_admin_compounds", "unlink_admin_children")
	case "compounds":
		return m.removeByIDs(ctx, c, "remove_compounds", "delete_compounds", "unlink_compounds")
	case "buildings":
		var units int64
		if err := m.queryRow(ctx, "remove_buildings", &c.Removed, &c.Retained, &units); err != nil {
			return err
		}
		m.layer("units").Removed += units
		return nil
	case "units":
		if err := m.queryRow(ctx, "remove_units", &c.Removed, &c.Retained); err != nil {
			return err
		}
		_, err := m.exec(ctx, "units_buildings")
		return err
	default:
		if err := m.queryRow(ctx, "remove_"+layer, &c.Removed, &c.Retained); err != nil {
			return err
		}
		return nil
	}
}

// removeByIDs removes rows that others link to: it finds them, clears the
// links (unlink steps), then deletes them.
func (m *merger) removeByIDs(ctx context.Context, c *LayerCounts, find, del string, unlink ...string) error {
	var ids []int64
	if err := m.queryRow(ctx, find, &ids, &c.Retained); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	for _, u := range unlink {
		if _, err := m.exec(ctx, u, ids); err != nil {
			return err
		}
	}
	n, err := m.exec(ctx, del, ids)
	if err != nil {
		return err
	}
	c.Removed = n
	return nil
}

// unitKeyStatements lists the foreign keys that reference units, then its
// primary and unique keys: the statements that drop them (in that order)
// and those that restore them (keys first). Names and definitions come from
// the catalog, never from input.
func (m *merger) unitKeyStatements(ctx context.Context) (drops, restore []string, err error) {
	rows, err := m.tx.Query(ctx, `
		SELECT 'ALTER TABLE ' || c.conrelid::regclass::text || ' DROP CONSTRAINT ' || quote_ident(c.conname),
		       'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),
		       CASE WHEN c.contype = 'f' THEN 1 ELSE 2 END AS drop_order
		FROM pg_constraint c
		WHERE (c.contype = 'f' AND c.confrelid = 'units'::regclass AND c.conrelid <> 'units'::regclass)
		   OR (c.contype IN ('p', 'u') AND c.conrelid = 'units'::regclass)
		ORDER BY 3, 1`)
	if err != nil {
		return nil, nil, fmt.Errorf("list the keys of units: %w", err)
	}
	defer rows.Close()
	var fks []string
	for rows.Next() {
		var drop, def string
		var order int
		if err := rows.Scan(&drop, &def, &order); err != nil {
			return nil, nil, fmt.Errorf("list the keys of units: %w", err)
		}
		drops = append(drops, drop)
		if order == 1 {
			fks = append(fks, def)
		} else {
			restore = append(restore, def)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list the keys of units: %w", err)
	}
	return drops, append(restore, fks...), nil
}

// restoreUnitKeys runs unitKeys, once.
func (m *merger) restoreUnitKeys(ctx context.Context) error {
	defs := m.unitKeys
	m.unitKeys = nil
	return m.restore(ctx, defs)
}

// restore runs the statements bulkStart returned to put back what it
// dropped (definitions read from the catalog, never from input), each timed.
func (m *merger) restore(ctx context.Context, defs []string) error {
	for _, def := range defs {
		c := m.clock()
		if _, err := m.tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("bulk load: restore (%s): %w", def, err)
		}
		m.done(c, "restore", "sql", def)
	}
	return nil
}

// deriveUnits (re)derives the units of the residential buildings that need
// it: those of new buildings inserted directly, the others upserted, then
// the surplus of older ones trimmed.
func (m *merger) deriveUnits(ctx context.Context) error {
	if _, err := m.exec(ctx, "derive_targets"); err != nil {
		return err
	}
	// Temporary tables are not analysed by autovacuum; the plans below
	// join them with units and buildings.
	if _, err := m.tx.Exec(ctx, "ANALYZE import_derive; ANALYZE import_touched"); err != nil {
		return fmt.Errorf("analyze derive targets: %w", err)
	}
	c := m.layer("units")
	if err := m.tx.QueryRow(ctx, "SELECT coalesce(sum(n), 0) FROM import_derive").Scan(&c.Read); err != nil {
		return fmt.Errorf("count derived units: %w", err)
	}
	// Both statements wrap the one query of derive_units (constant SQL).
	units := query("derive_units")
	c0 := m.clock()
	tag, err := m.tx.Exec(ctx, query("derive_insert")+" ("+units+") x", true)
	if err != nil {
		return fmt.Errorf("import step derive_insert: %w", err)
	}
	m.done(c0, "derive_insert", "rows", tag.RowsAffected())
	c.Added += tag.RowsAffected()
	// The upsert below needs the unique key of units.
	if err := m.restoreUnitKeys(ctx); err != nil {
		return err
	}
	c0 = m.clock()
	var added, changed int64
	upsert := strings.Replace(query("derive_upsert"), "/* derive_units */", units, 1)
	if err := m.tx.QueryRow(ctx, upsert, false).Scan(&added, &changed); err != nil {
		return fmt.Errorf("import step derive_upsert: %w", err)
	}
	m.done(c0, "derive_upsert")
	c.Added += added
	c.Changed += changed
	// Only buildings that existed before can have units to trim.
	var older int64
	if err := m.tx.QueryRow(ctx, "SELECT count(*) FROM import_touched WHERE layer = 'buildings' AND NOT inserted").Scan(&older); err != nil {
		return fmt.Errorf("count changed buildings: %w", err)
	}
	if older > 0 {
		var removed, kept int64
		if err := m.queryRow(ctx, "derive_trim", &removed, &kept); err != nil {
			return err
		}
		c.Removed += removed
		c.Retained += kept
	}
	_, err = m.exec(ctx, "derive_mark")
	return err
}

// reassign refreshes the links of rows that were not part of this import
// after the areas or buildings they depend on changed.
func (m *merger) reassign(ctx context.Context, changed map[string]bool) error {
	if changed["admin"] || changed["compounds"] {
		if _, err := m.exec(ctx, "reassign_buildings"); err != nil {
			return err
		}
	}
	if changed["admin"] {
		if _, err := m.exec(ctx, "reassign_compounds"); err != nil {
			return err
		}
	}
	if changed["buildings"] {
		if _, err := m.exec(ctx, "reassign_places"); err != nil {
			return err
		}
	}
	if changed["compounds"] {
		if _, err := m.exec(ctx, "reassign_entrances"); err != nil {
			return err
		}
	}
	return nil
}
