// Package importer loads real geography into riskzone: OpenStreetMap PBF
// (or XML) extracts and GeoJSON files, into buildings, units, barriers, admin
// areas, compounds and places.
//
// An import is one job (a row of import_jobs, written first so that its
// progress and its failure are visible) and one transaction:
//
//  1. the file is streamed (geo/osm, geo/geojson) into a temporary staging
//     table with one COPY, while it is read;
//  2. PostGIS decodes each geometry, judges it with ST_IsValid and repairs it
//     with ST_MakeValid when it can (counted as repaired; a feature whose
//     repair leaves nothing of the layer's dimension is skipped and listed);
//  3. each layer is merged by (source, source_id): new rows are added,
//     changed rows updated, identical rows left alone, and rows of the same
//     source absent from the file (within the import's scope) removed;
//  4. units are derived where missing and populations estimated (see
//     Estimates), marked derived;
//  5. layer_versions of the layers that changed are bumped, the job is marked
//     done with its summary, and an audit row is written; then it commits.
//
// Re-importing the same file therefore changes nothing (0 added, 0 changed,
// 0 removed, no version bump), and a failure at any point rolls everything
// back, leaving the database as it was and the job marked failed with the
// error. Imports are serialised by an advisory lock.
//
// Identity: a row's source is "osm" (or --source) and its source_id the OSM
// element ("w123", "r45", "n9") or the GeoJSON feature's id (see
// layerFields); units are identified by their building and number. Removal
// is scoped: only rows of the same source, of the layers the import loads,
// and inside --bbox or --county-relation when one is given, are removed when
// absent from the file. A row that cases, traces or zones point at is kept
// (counted as retained) rather than removed. Units and compounds are drawn
// with buildings and admin areas, so they bump those layer versions.
//
// The HTTP endpoint (POST /api/v1/imports, server/imports.go) spools the
// upload to a temporary file (an OSM file is read three times), calls
// CreateJob with Origin "http", the admin's id and its Runner, answers with
// the job id, and calls Run from its one import worker with a context
// detached from the request; clients then poll the job (Job: status, phase,
// bytes_read, features_read, summary, error).
package importer

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/riskzone/riskzone/geo"
	"github.com/riskzone/riskzone/geo/geojson"
	osmread "github.com/riskzone/riskzone/geo/osm"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/sqlfile"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

var queries = sqlfile.Must("importer", sqlFiles)

// query returns the statement of sql/NAME.sql (a missing file panics: a
// typo, caught by the tests of this package).
func query(name string) string { return queries.Query(name) }

// Kinds of import.
const (
	KindOSM     = "osm"
	KindGeoJSON = "geojson"
)

// Estimates are the parameters of derived values.
//
// Population, when a building has none: footprint area (m²) × floors ×
// PersonsPerM2, with DefaultFloors when the floors are
// unknown; 0 for buildings that are not residential. The default 0.025
// persons per m² of floor is about 40 m² of floor per resident, the order of
// urban housing space per person in China (gross floor area, stairs and
// walls included).
//
// Units (单元), when a residential building has none: N strips across the
// footprint's long axis, N = 1 for single-family types, else
// ceil(flats / (floors × FlatsPerFloor)) when the number of flats is known,
// else round(long side / UnitWidthM); N is clamped to [1, MaxUnits]. A
// stairwell with two flats per landing (一梯两户) serves a slab about 12-16 m
// wide, hence the defaults 15 m and 2.
type Estimates struct {
	PersonsPerM2  float64 `json:"persons_per_m2"`
	DefaultFloors int     `json:"default_floors"`
	UnitWidthM    float64 `json:"unit_width_m"`
	FlatsPerFloor int     `json:"flats_per_floor"`
	MaxUnits      int     `json:"max_units"`
}

// DefaultEstimates returns the documented defaults.
func DefaultEstimates() Estimates {
	return Estimates{PersonsPerM2: 0.025, DefaultFloors: 2, UnitWidthM: 15, FlatsPerFloor: 2, MaxUnits: 12}
}

func (e Estimates) validate() error {
	switch {
	case e.PersonsPerM2 < 0 || e.PersonsPerM2 > 1:
		return fmt.Errorf("persons per m² %v: want 0 to 1", e.PersonsPerM2)
	case e.DefaultFloors < 1 || e.DefaultFloors > 200:
		return fmt.Errorf("default floors %d: want 1 to 200", e.DefaultFloors)
	case e.UnitWidthM < 1 || e.UnitWidthM > 1000:
		return fmt.Errorf("unit width %v m: want 1 to 1000", e.UnitWidthM)
	case e.FlatsPerFloor < 1 || e.FlatsPerFloor > 50:
		return fmt.Errorf("flats per floor %d: want 1 to 50", e.FlatsPerFloor)
	case e.MaxUnits < 1 || e.MaxUnits > 99:
		return fmt.Errorf("max units %d: want 1 to 99", e.MaxUnits)
	}
	return nil
}

// Options describe one import.
type Options struct {
	Kind  string // KindOSM or KindGeoJSON
	Layer string // GeoJSON: the layer to load (see Layers)
	// Source is written to the rows' source column and scopes removals:
	// "osm" by default for OSM, the file name for GeoJSON ("manual" is refused).
	Source   string
	FileName string // as shown in the job and messages

	// Scope: rows of the source outside it are not touched. BBox keeps the
	// features whose bounding box meets it; CountyRelation (OSM) those that
	// meet the area of that boundary relation, which must be in the file.
	BBox           *orb.Bound
	CountyRelation int64

	AdminLevels map[int]string    // OSM admin_level → level; nil: DefaultAdminLevels
	FieldMap    map[string]string // GeoJSON: field → property (see layerFields)
	Estimates   Estimates         // zero: DefaultEstimates
	// SkipUnits leaves units alone: none are derived (e.g. when a units
	// layer will be loaded next).
	SkipUnits bool
	// BulkRows: an import that brings at least this many buildings, more than
	// the table holds, drops the secondary indexes of buildings and units and
	// rebuilds them before it commits — several times faster for a first
	// load, but readers of those tables wait until the import commits.
	// Only a role that owns those tables may drop their indexes: as the app
	// role (the server's imports) the merge keeps them in place.
	// 0 means DefaultBulkRows; a negative value never does.
	BulkRows int64

	CreatedBy *int64 // the admin who started it (HTTP), nil from the CLI
	Origin    string // "cli" (default) or "http"
	// Actor is the audited actor of a CLI import ("cli:<operator>"); ""
	// means "cli". An HTTP import is audited as the admin who started it.
	Actor string
	// Runner names the process that runs the job (stored with its options):
	// a restarted server fails the jobs its previous process left open
	// (FailInterrupted).
	Runner string

	// Progress, when set, is called from the import's goroutines (one at a
	// time) as it advances.
	Progress func(Progress)
	// ListSkipped caps the skipped features listed in the summary (default 100).
	ListSkipped int
	// MaxFeatureBytes (GeoJSON) refuses a feature larger than this many
	// bytes as bad input before it is held in memory; 0 means
	// geojson.DefaultMaxFeatureBytes (16 MiB). OSM PBF blocks are bounded by
	// the format (32 MiB uncompressed, see geo/osm).
	MaxFeatureBytes int64
}

// DefaultBulkRows is the default of Options.BulkRows.
const DefaultBulkRows = 50000

// Progress is a report of how far an import has come.
type Progress struct {
	JobID      int64
	Phase      string // "read" then "merge"
	Step       string // what is happening, for people
	BytesRead  int64  // of the current pass over the file
	BytesTotal int64
	Features   int64 // read so far
	Done       bool  // the last report
}

// sourcePattern is what a source name may be (as import_jobs checks);
// notSourceChars are replaced by '-' in a source made from a file name.
var (
	sourcePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	notSourceChars = regexp.MustCompile(`[^A-Za-z0-9._:-]+`)
)

// withDefaults fills the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	switch o.Kind {
	case KindOSM:
		if o.Source == "" {
			o.Source = "osm"
		}
		if o.Layer != "" {
			return o, fmt.Errorf("an OSM import loads every layer: no layer may be given")
		}
		if o.AdminLevels == nil {
			o.AdminLevels = DefaultAdminLevels()
		}
		if len(o.FieldMap) > 0 {
			return o, fmt.Errorf("--map applies to GeoJSON imports only")
		}
	case KindGeoJSON:
		if _, ok := layerFields[o.Layer]; !ok {
			return o, fmt.Errorf("layer %q: want one of %s", o.Layer, strings.Join(Layers(), ", "))
		}
		if o.Source == "" {
			base := strings.TrimSuffix(filepath.Base(o.FileName), filepath.Ext(o.FileName))
			o.Source = strings.Trim(notSourceChars.ReplaceAllString(base, "-"), "-._:")
		}
		if o.CountyRelation != 0 {
			return o, fmt.Errorf("--county-relation applies to OSM imports only (use --bbox)")
		}
	default:
		return o, fmt.Errorf("import kind %q: want osm or geojson", o.Kind)
	}
	if !sourcePattern.MatchString(o.Source) || o.Source == "manual" {
		return o, fmt.Errorf("source %q: want 1-64 letters, digits, '.', '_', ':' or '-', not \"manual\"", o.Source)
	}
	if o.BBox != nil {
		b := *o.BBox
		if !geo.ValidCoordinate(b.Min) || !geo.ValidCoordinate(b.Max) || b.Min[0] >= b.Max[0] || b.Min[1] >= b.Max[1] {
			return o, fmt.Errorf("bbox %v,%v,%v,%v: want minlon,minlat,maxlon,maxlat within lon/lat range, min < max", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
		}
		if o.CountyRelation != 0 {
			return o, fmt.Errorf("give --bbox or --county-relation, not both")
		}
	}
	if o.Estimates == (Estimates{}) {
		o.Estimates = DefaultEstimates()
	}
	if err := o.Estimates.validate(); err != nil {
		return o, err
	}
	if o.Origin == "" {
		o.Origin = "cli"
	}
	if o.ListSkipped <= 0 {
		o.ListSkipped = 100
	}
	if o.BulkRows == 0 {
		o.BulkRows = DefaultBulkRows
	}
	if o.MaxFeatureBytes < 0 {
		return o, fmt.Errorf("max feature bytes %d: want 0 (the default) or more", o.MaxFeatureBytes)
	}
	if o.MaxFeatureBytes == 0 {
		o.MaxFeatureBytes = geojson.DefaultMaxFeatureBytes
	}
	return o, nil
}

// layers are the layers an import of these options loads, in merge order.
func (o Options) layers() []string {
	if o.Kind == KindOSM {
		return []string{"admin", "compounds", "buildings", "barriers", "places", "entrances"}
	}
	return []string{o.Layer}
}

// ParseBBox reads "minlon,minlat,maxlon,maxlat".
func ParseBBox(s string) (*orb.Bound, error) {
	var v [4]float64
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("bbox %q: want minlon,minlat,maxlon,maxlat", s)
	}
	for i, p := range parts {
		if _, err := fmt.Sscanf(strings.TrimSpace(p), "%g", &v[i]); err != nil {
			return nil, fmt.Errorf("bbox %q: %q is not a number", s, p)
		}
	}
	return &orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

// Importer runs imports against a store.
type Importer struct {
	store *postgis.Store
	log   *slog.Logger
}

// New returns an Importer that writes to s and logs to log (nil: discard).
func New(s *postgis.Store, log *slog.Logger) *Importer {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Importer{store: s, log: log}
}

// ImportFile records a job and runs it on the file at path.
func (im *Importer) ImportFile(ctx context.Context, path string, opts Options) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, zoning.Errorf(zoning.ErrInvalid, "open %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, zoning.Errorf(zoning.ErrInvalid, "%s is a directory", path)
	}
	if opts.FileName == "" {
		opts.FileName = filepath.Base(path)
	}
	id, err := im.CreateJob(ctx, opts, st.Size())
	if err != nil {
		return nil, err
	}
	return im.Run(ctx, id, f, st.Size(), opts)
}

// Run runs the queued job id on src (size bytes; a file or an uploaded
// multipart file). It marks the job running, then done with its summary in
// the import's transaction, or failed with the error.
func (im *Importer) Run(ctx context.Context, id int64, src io.ReadSeeker, size int64, opts Options) (*Summary, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		err = zoning.Errorf(zoning.ErrInvalid, "%v", err)
		im.failJob(ctx, id, err)
		return nil, err
	}
	if err := im.startJob(ctx, id); err != nil {
		return nil, err
	}
	r := &run{im: im, id: id, opts: opts, src: src, size: size, start: time.Now()}
	sum, err := r.do(ctx)
	if err != nil {
		im.failJob(ctx, id, err)
		im.log.Error("import failed", "job", id, "file", opts.FileName, "err", err)
		return nil, err
	}
	im.log.Info("import done", "job", id, "file", opts.FileName, "features", sum.Features,
		"seconds", fmt.Sprintf("%.2f", sum.Seconds), "changed", sum.Changed())
	return sum, nil
}

// run is one import in progress.
type run struct {
	im    *Importer
	id    int64
	opts  Options
	src   io.ReadSeeker
	size  int64
	start time.Time

	mu       sync.Mutex // guards the progress callback and the problem list
	phase    atomic.Value
	bytes    atomic.Int64
	features atomic.Int64 // read from the file
	staged   atomic.Int64 // rows of layers staged
	problems []Skip
	nProblem int64
}

func (r *run) progress(p Progress) {
	p.JobID = r.id
	r.phase.Store(p.Step)
	r.bytes.Store(p.BytesRead)
	r.features.Store(p.Features)
	if r.opts.Progress != nil {
		r.mu.Lock()
		r.opts.Progress(p)
		r.mu.Unlock()
	}
}

func (r *run) problem(p Skip) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nProblem++
	if len(r.problems) < r.opts.ListSkipped {
		r.problems = append(r.problems, p)
	}
}

func (r *run) do(ctx context.Context) (*Summary, error) {
	stopJobProgress := r.reportToJob(ctx)
	defer stopJobProgress()
	pool := r.im.store.Pool
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, query("stage_create")); err != nil {
		return nil, fmt.Errorf("create staging tables: %w", err)
	}
	e := r.opts.Estimates
	if _, err := tx.Exec(ctx, query("params_insert"), r.opts.Source, r.opts.layers(),
		r.opts.BBox != nil || r.opts.CountyRelation != 0, e.PersonsPerM2, e.DefaultFloors, e.UnitWidthM, e.MaxUnits, e.FlatsPerFloor,
		!r.opts.SkipUnits); err != nil {
		return nil, fmt.Errorf("record import parameters: %w", err)
	}
	if r.opts.BBox != nil {
		b, err := wkb.Marshal(r.opts.BBox.ToPolygon())
		if err != nil {
			return nil, fmt.Errorf("encode bbox: %w", err)
		}
		if _, err := tx.Exec(ctx, query("scope_insert"), b); err != nil {
			return nil, fmt.Errorf("record bbox scope: %w", err)
		}
	}
	switch r.opts.Kind {
	case KindOSM:
		_, err = copyStage(ctx, tx, r.readOSM)
	default:
		_, err = copyStage(ctx, tx, r.readGeoJSON)
	}
	if err != nil {
		return nil, err
	}
	staged := r.staged.Load()
	readDone := time.Now()
	r.progress(Progress{Phase: "merge", Step: "merge", BytesRead: r.size, BytesTotal: r.size, Features: r.features.Load()})
	sum := &Summary{JobID: r.id, Kind: r.opts.Kind, Layer: r.opts.Layer, Source: r.opts.Source, File: r.opts.FileName,
		Bytes: r.size, Features: staged, ReadSeconds: readDone.Sub(r.start).Seconds()}
	if staged == 0 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "%s: no features to import (an empty FeatureCollection or no wanted OSM elements); refusing to treat every row of source %q as removed", r.opts.FileName, r.opts.Source)
	}
	m := &merger{tx: tx, opts: r.opts, sum: sum, log: r.im.log, step: func(s string) {
		r.progress(Progress{Phase: "merge", Step: s, BytesRead: r.size, BytesTotal: r.size, Features: r.features.Load()})
	}}
	if err := m.merge(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	sum.Skipped = append(r.problems, sum.Skipped...)
	if len(sum.Skipped) > r.opts.ListSkipped {
		sum.Skipped = sum.Skipped[:r.opts.ListSkipped]
	}
	sum.SkippedTotal += r.nProblem
	r.mu.Unlock()
	if sum.Skipped == nil {
		sum.Skipped = []Skip{}
	}
	end := time.Now()
	sum.MergeSeconds = end.Sub(readDone).Seconds()
	sum.Seconds = end.Sub(r.start).Seconds()
	stopJobProgress()
	if err := r.finishJob(ctx, tx, sum); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit import: %w", err)
	}
	r.progress(Progress{Phase: "merge", Step: "done", BytesRead: r.size, BytesTotal: r.size, Features: r.features.Load(), Done: true})
	return sum, nil
}

// stage sends a row to the staging COPY with, for a residential building,
// the strips its units would be cut into (used if its units are derived).
func (r *run) stage(send func(*stageRow) error, row *stageRow) error {
	if row.layer == "buildings" && !r.opts.SkipUnits && row.geom != nil && (row.kind == "" || row.kind == "residential") {
		if plan, ok := planUnits(row.geom, row.floors, row.flats, row.singleUnit, r.opts.Estimates); ok {
			row.unitStrips = orb.MultiPolygon(plan.strips)
			row.fills = plan.fills
			if plan.clips != nil {
				row.unitClips = orb.MultiPolygon(plan.clips)
			}
		}
	}
	if err := send(row); err != nil {
		return err
	}
	if row.layer != "scope" {
		r.staged.Add(1)
	}
	return nil
}

// readOSM streams an OSM file into rows.
func (r *run) readOSM(ctx context.Context, send func(*stageRow) error) error {
	rules := newOSMRules(r.opts.AdminLevels, r.opts.CountyRelation)
	var features int64
	_, err := osmread.Read(ctx, r.src, r.size, osmread.Options{
		Classify: rules.classify,
		Progress: func(p osmread.Progress) {
			r.progress(Progress{Phase: "read", Step: fmt.Sprintf("read pass %d/%d: %s", p.Pass, p.Passes, p.Name),
				BytesRead: p.BytesRead, BytesTotal: p.BytesTotal, Features: features})
		},
		Problem: func(p osmread.Problem) { r.problem(Skip{SourceID: p.SourceID(), Reason: p.Reason}) },
	}, func(f *osmread.Feature) error {
		features++
		for _, row := range rules.rows(f) {
			if r.opts.BBox != nil && row.layer != "scope" && !r.opts.BBox.Intersects(row.geom.Bound()) {
				continue
			}
			if err := r.stage(send, &row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, osmread.ErrFormat) {
			return zoning.Errorf(zoning.ErrInvalid, "%s: %v", r.opts.FileName, err)
		}
		return fmt.Errorf("read %s: %w", r.opts.FileName, err)
	}
	r.features.Store(features)
	return nil
}

// readGeoJSON streams a GeoJSON FeatureCollection into rows of one layer.
func (r *run) readGeoJSON(ctx context.Context, send func(*stageRow) error) error {
	rules, err := newGeoJSONRules(r.opts.Layer, r.opts.FieldMap)
	if err != nil {
		return zoning.Errorf(zoning.ErrInvalid, "%v", err)
	}
	rd := geojson.NewReaderLimit(r.src, r.opts.MaxFeatureBytes)
	var n int64
	last := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ge *geojson.Error
			if errors.As(err, &ge) {
				return zoning.Errorf(zoning.ErrInvalid, "%s: %v", r.opts.FileName, err)
			}
			return fmt.Errorf("read %s: %w", r.opts.FileName, err)
		}
		row, err := rules.row(f)
		if err != nil {
			id := f.ID
			if id == "" {
				id = "no id"
			}
			return zoning.Errorf(zoning.ErrInvalid, "%s: line %d: feature %d (%s): %v", r.opts.FileName, f.Line, f.Index, id, err)
		}
		if r.opts.BBox != nil && row.geom != nil && !r.opts.BBox.Intersects(row.geom.Bound()) {
			continue
		}
		if err := r.stage(send, &row); err != nil {
			return err
		}
		n++
		if time.Since(last) > 200*time.Millisecond {
			last = time.Now()
			r.progress(Progress{Phase: "read", Step: "read features", BytesRead: rd.BytesRead(), BytesTotal: r.size, Features: n})
		}
	}
	r.features.Store(n)
	r.progress(Progress{Phase: "read", Step: "read features", BytesRead: rd.BytesRead(), BytesTotal: r.size, Features: n})
	return nil
}
