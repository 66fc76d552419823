package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
