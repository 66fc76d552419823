package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/riskzone/riskzone/zoning/importer"
)

// The import jobs runner (the HTTP side is server/imports.go, docs/import.md):
// one import runs at a time per server, in a worker with the server's
// lifetime (a client that disconnects after the 202 does not stop it); a
// bounded number more wait their turn as queued jobs. A server that starts
// fails the jobs its previous process left queued or running: their
// transactions died with it, so none of their data was kept.

// ImportTask is an accepted upload waiting for, or in, the runner.
type ImportTask struct {
	// ID is the job's row; Path the spooled upload, removed once the job
	// ends; Size its length in bytes.
	ID   int64
	Path string
	Size int64
	Opts importer.Options
}

// Imports runs accepted import jobs one at a time.
type Imports struct {
	// Runner names this server in the jobs it records: its previous
	// process's open jobs are those of the same runner.
	Runner string

	im  *importer.Importer
	log *slog.Logger
	// recover fails the jobs a previous process left open, once, before
	// this one accepts or runs any.
	recover sync.Once
	// slots holds one token per accepted job that is not finished (running
	// or queued); its capacity bounds them.
	slots chan struct{}
	queue chan *ImportTask
}

// NewImports makes the runner of one server: runner names it, queued jobs
// may wait while one runs.
func NewImports(im *importer.Importer, log *slog.Logger, runner string, queued int) *Imports {
	return &Imports{Runner: runner, im: im, log: log,
		slots: make(chan struct{}, queued+1), queue: make(chan *ImportTask, queued+1)}
}

// Reserve takes a slot for a job about to be accepted; false when one runs
// and Waiting more are queued already.
func (q *Imports) Reserve() bool {
	select {
	case q.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Unreserve gives back a slot whose job was not accepted after all.
func (q *Imports) Unreserve() { <-q.slots }

// Waiting is how many jobs may wait while one runs.
func (q *Imports) Waiting() int { return cap(q.slots) - 1 }

// Enqueue hands an accepted job to the runner. It never blocks after a
// Reserve: the slot taken has room in the queue.
func (q *Imports) Enqueue(t *ImportTask) { q.queue <- t }

// Work fails what a previous process of this server left open, then runs
// the accepted jobs one at a time until ctx ends; jobs still queued then are
// failed.
func (q *Imports) Work(ctx context.Context) {
	q.FailInterrupted(ctx)
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case t := <-q.queue:
					q.im.FailJob(ctx, t.ID, errors.New("the server stopped before the import ran: upload the file again"))
					os.Remove(t.Path)
					<-q.slots
				default:
					return
				}
			}
		case t := <-q.queue:
			q.run(ctx, t)
		}
	}
}

// FailInterrupted fails, once per process and before it records a job of
// its own, the jobs of this server's runner that are still open: they
// belonged to its previous process.
func (q *Imports) FailInterrupted(ctx context.Context) {
	q.recover.Do(func() {
		ctx := context.WithoutCancel(ctx)
		n, err := q.im.FailInterrupted(ctx, q.Runner, "the server stopped before the import finished; nothing of it was kept: upload the file again")
		if err != nil {
			q.log.Error("fail interrupted imports", "err", err)
		} else if n > 0 {
			q.log.Warn("imports interrupted by the last stop marked failed", "jobs", n)
		}
	})
}

// run runs one job; its outcome is recorded in the job row.
func (q *Imports) run(ctx context.Context, t *ImportTask) {
	defer func() { <-q.slots }()
	defer os.Remove(t.Path)
	f, err := os.Open(t.Path)
	if err != nil {
		q.im.FailJob(ctx, t.ID, fmt.Errorf("open the spooled upload: %w", err))
		return
	}
	defer f.Close()
	// Run records success or failure in the job itself (and logs it).
	_, _ = q.im.Run(ctx, t.ID, f, t.Size, t.Opts)
}
