package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ContactAlert is an overdue closed-loop step raised for the command
// centre: who is overdue for what, never where they live.
type ContactAlert struct {
	ContactID int64     `json:"contact_id"`
	ContactNo string    `json:"contact_no"`
	CountyID  int64     `json:"county_id"`
	Kind      string    `json:"kind"`
	Step      string    `json:"step"`
	DueAt     time.Time `json:"due_at"`
	RaisedAt  time.Time `json:"raised_at"`
	Attempts  int       `json:"attempts"`
}

// RaiseAlerts records an alert for every step now overdue that has none
// yet, and answers how many it raised. Each contact and step is raised
// once, whatever the replicas and restarts.
func (cs Contacts) RaiseAlerts(ctx context.Context) (int, error) {
	now := cs.now()
	raised := 0
	for after := int64(0); ; {
		page, err := cs.List(ctx, ContactFilter{Overdue: true, AfterID: after, Limit: 500})
		if err != nil {
			return raised, fmt.Errorf("raise alerts: %w", err)
		}
		if len(page) == 0 {
			return raised, nil
		}
		b := &pgx.Batch{}
		for _, c := range page {
			for _, d := range c.Overdue {
				b.Queue(`INSERT INTO contact_alerts (contact_id, step, county_id, due_at, raised_at, next_attempt_at)
					VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`, c.ID, d.Step, c.CountyID, d.DueAt, now)
			}
		}
		res := cs.S.Pool.SendBatch(ctx, b)
		for range b.Len() {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return raised, fmt.Errorf("raise alerts: %w", err)
			}
			raised += int(tag.RowsAffected())
		}
		if err := res.Close(); err != nil {
			return raised, fmt.Errorf("raise alerts: %w", err)
		}
		after = page[len(page)-1].ID
	}
}

// OverdueCount counts the steps past their limit and not done of a
// county's contacts (0: all), as of now: the app's badge. It does not wait
// for the alert worker to raise them.
func (cs Contacts) OverdueCount(ctx context.Context, county int64) (int, error) {
	n := 0
	for after := int64(0); ; {
		page, err := cs.List(ctx, ContactFilter{CountyID: county, Overdue: true, AfterID: after, Limit: 1000})
		if err != nil {
			return 0, fmt.Errorf("count overdue steps: %w", err)
		}
		for _, c := range page {
			n += len(c.Overdue)
		}
		if len(page) < 1000 {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

// ClaimAlerts takes up to limit undelivered alerts that are due, holding
// them for lease (another replica skips them meanwhile).
func (cs Contacts) ClaimAlerts(ctx context.Context, limit int, lease time.Duration) ([]ContactAlert, error) {
	now := cs.now()
	rows, err := cs.S.Pool.Query(ctx, `
		WITH due AS (
			SELECT contact_id, step FROM contact_alerts
			WHERE delivered_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at, contact_id, step LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE contact_alerts a SET next_attempt_at = $1 + make_interval(secs => $3), attempts = a.attempts + 1
		FROM due, contacts c
		WHERE a.contact_id = due.contact_id AND a.step = due.step AND c.id = a.contact_id
		RETURNING a.contact_id, c.contact_no, a.county_id, c.kind, a.step, a.due_at, a.raised_at, a.attempts`,
		now, limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ContactAlert])
	if err != nil {
		return nil, fmt.Errorf("claim alerts: %w", err)
	}
	return out, nil
}

// FinishAlerts records a delivery attempt of claimed alerts: delivered, or
// failed with errText and due again at retry.
func (cs Contacts) FinishAlerts(ctx context.Context, alerts []ContactAlert, delivered bool, errText string, retry time.Time) error {
	b := &pgx.Batch{}
	for _, a := range alerts {
		if delivered {
			b.Queue(`UPDATE contact_alerts SET delivered_at = $3, last_error = '' WHERE contact_id = $1 AND step = $2`, a.ContactID, a.Step, cs.now())
		} else {
			b.Queue(`UPDATE contact_alerts SET next_attempt_at = $3, last_error = $4 WHERE contact_id = $1 AND step = $2`, a.ContactID, a.Step, retry, errText)
		}
	}
	if err := cs.S.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("finish alerts: %w", err)
	}
	return nil
}
