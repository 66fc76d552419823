package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Job is an import job as recorded in import_jobs.
type Job struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Layer    string `json:"layer,omitempty"`
	Source   string `json:"source"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
	Origin   string `json:"origin"`
	// Status: queued, running, done or failed.
	Status   string      `json:"status"`
	Progress JobProgress `json:"progress"`
	// Options as given (estimates, scope, mappings).
	Options json.RawMessage `json:"options"`
	// Summary of a done job: counts per layer (added, changed, removed,
	// repaired, skipped...) and the skipped features with their reasons.
	Summary *Summary `json:"summary,omitempty"`
	// Error of a failed job.
	Error      string     `json:"error,omitempty"`
	CreatedBy  *int64     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// JobProgress is how far a job has come, as last recorded (every second
// while it runs).
type JobProgress struct {
	Phase        string `json:"phase"`
	BytesTotal   int64  `json:"bytes_total"`
	BytesRead    int64  `json:"bytes_read"`
	FeaturesRead int64  `json:"features_read"`
}

// Job returns the job id (zoning.ErrNotFound when there is none).
func (im *Importer) Job(ctx context.Context, id int64) (*Job, error) {
	var j Job
	var layer, errMsg *string
	var size *int64
	var summary []byte
	err := im.store.Pool.QueryRow(ctx, `SELECT id, kind, layer, source, file_name, file_size, origin, status,
		phase, bytes_total, bytes_read, features_read, options, summary, error, created_by,
		created_at, started_at, finished_at, updated_at
		FROM import_jobs WHERE id = $1`, id).Scan(&j.ID, &j.Kind, &layer, &j.Source, &j.FileName, &size, &j.Origin, &j.Status,
		&j.Progress.Phase, &j.Progress.BytesTotal, &j.Progress.BytesRead, &j.Progress.FeaturesRead, &j.Options, &summary, &errMsg,
		&j.CreatedBy, &j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, zoning.Errorf(zoning.ErrNotFound, "import job %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read import job %d: %w", id, err)
	}
	if layer != nil {
		j.Layer = *layer
	}
	if size != nil {
		j.FileSize = *size
	}
	if errMsg != nil {
		j.Error = *errMsg
	}
	if summary != nil {
		j.Summary = new(Summary)
		if err := json.Unmarshal(summary, j.Summary); err != nil {
			return nil, fmt.Errorf("decode summary of import job %d: %w", id, err)
		}
	}
	return &j, nil
}

// FailInterrupted marks failed the jobs of runner (Options.Runner) that are
// still queued or running, with reason as their error, and returns how many.
// A server calls it when it starts: whatever its previous process had
// accepted died with it (its import transaction rolled back, so no data of
// those jobs was kept).
func (im *Importer) FailInterrupted(ctx context.Context, runner, reason string) (int64, error) {
	if runner == "" {
		return 0, nil
	}
	tag, err := im.store.Pool.Exec(ctx, `UPDATE import_jobs
		SET status = 'failed', error = $2, started_at = coalesce(started_at, now()), finished_at = now(), updated_at = now()
		WHERE status IN ('queued', 'running') AND options->>'runner' = $1`, runner, reason)
	if err != nil {
		return 0, fmt.Errorf("fail interrupted import jobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// FailJob marks a queued or running job failed with cause (e.g. when it
// could not be started at all).
func (im *Importer) FailJob(ctx context.Context, id int64, cause error) { im.failJob(ctx, id, cause) }

// CreateJob records a queued import job and returns its id.
func (im *Importer) CreateJob(ctx context.Context, opts Options, fileSize int64) (int64, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return 0, zoning.Errorf(zoning.ErrInvalid, "%v", err)
	}
	optJSON, err := json.Marshal(jobOptions(o))
	if err != nil {
		return 0, fmt.Errorf("encode import options: %w", err)
	}
	var layer any
	if o.Layer != "" {
		layer = o.Layer
	}
	var id int64
	err = im.store.Pool.QueryRow(ctx, `INSERT INTO import_jobs (kind, layer, source, file_name, file_size, bytes_total, options, origin, created_by)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id`,
		o.Kind, layer, o.Source, o.FileName, fileSize, optJSON, o.Origin, o.CreatedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record import job: %w", err)
	}
	return id, nil
}

// jobOptions are the options as stored with the job.
func jobOptions(o Options) map[string]any {
	m := map[string]any{"estimates": o.Estimates}
	if o.BBox != nil {
		m["bbox"] = []float64{o.BBox.Min[0], o.BBox.Min[1], o.BBox.Max[0], o.BBox.Max[1]}
	}
	if o.CountyRelation != 0 {
		m["county_relation"] = o.CountyRelation
	}
	if o.Kind == KindOSM {
		m["admin_levels"] = FormatAdminLevels(o.AdminLevels)
	}
	if len(o.FieldMap) > 0 {
		m["map"] = o.FieldMap
	}
	if o.SkipUnits {
		m["derive_units"] = false
	}
	if o.Runner != "" {
		m["runner"] = o.Runner
	}
	return m
}

func (im *Importer) startJob(ctx context.Context, id int64) error {
	tag, err := im.store.Pool.Exec(ctx, `UPDATE import_jobs SET status = 'running', started_at = now(), updated_at = now()
		WHERE id = $1 AND status = 'queued'`, id)
	if err != nil {
		return fmt.Errorf("start import job %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return zoning.Errorf(zoning.ErrConflict, "import job %d is not queued", id)
	}
	return nil
}

// failJob records the error of a job; it runs even when ctx was cancelled.
func (im *Importer) failJob(ctx context.Context, id int64, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := zoning.Message(cause)
	if zoning.Kind(cause) == nil {
		msg = cause.Error()
	}
	if _, err := im.store.Pool.Exec(ctx, `UPDATE import_jobs
		SET status = 'failed', error = $2, started_at = coalesce(started_at, now()), finished_at = now(), updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'running')`, id, msg); err != nil {
		im.log.Error("record import failure", "job", id, "err", err)
	}
}

// reportToJob copies the progress into the job row every second, on its own
// connection (outside the import transaction, so that others see it). The
// returned function stops it and waits; it may be called more than once.
func (r *run) reportToJob(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			phase, _ := r.phase.Load().(string)
			if _, err := r.im.store.Pool.Exec(ctx, `UPDATE import_jobs SET phase = $2, bytes_read = $3, features_read = $4, updated_at = now()
				WHERE id = $1 AND status = 'running'`, r.id, phase, r.bytes.Load(), r.features.Load()); err != nil && ctx.Err() == nil {
				r.im.log.Warn("record import progress", "job", r.id, "err", err)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// finishJob marks the job done inside the import transaction and audits it.
func (r *run) finishJob(ctx context.Context, tx pgx.Tx, sum *Summary) error {
	b, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode import summary: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE import_jobs SET status = 'done', summary = $2, phase = 'done', bytes_read = $3,
		features_read = $4, finished_at = now(), updated_at = now() WHERE id = $1`, r.id, b, r.size, sum.Features); err != nil {
		return fmt.Errorf("record import summary: %w", err)
	}
	actor := "cli"
	if r.opts.Actor != "" {
		actor = r.opts.Actor
	}
	if r.opts.Origin == "http" {
		actor = "http"
	}
	counts, err := json.Marshal(map[string]any{"layers": sum.Layers, "skipped_total": sum.SkippedTotal, "layer_versions": sum.LayerVersions})
	if err != nil {
		return fmt.Errorf("encode audit: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor_id, actor, role, action, entity, entity_id, reason, after)
		VALUES ($1, coalesce((SELECT username FROM users WHERE id = $1), $2), 'admin', 'import', 'import_job', $3, $4, $5)`,
		r.opts.CreatedBy, actor, fmt.Sprint(r.id), fmt.Sprintf("%s import of %s as source %s", r.opts.Kind, r.opts.FileName, r.opts.Source), counts); err != nil {
		return fmt.Errorf("audit import: %w", err)
	}
	return nil
}

// sortedLayers returns the layers of counts in a fixed order.
func sortedLayers(m map[string]*LayerCounts) []LayerCounts {
	order := []string{"admin", "compounds", "buildings", "units", "barriers", "places", "entrances"}
	var out []LayerCounts
	for _, l := range order {
		if c, ok := m[l]; ok {
			out = append(out, *c)
		}
	}
	for l, c := range m {
		if !slices.Contains(order, l) {
			out = append(out, *c)
		}
	}
	return out
}
