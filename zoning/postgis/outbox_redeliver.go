package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Redelivery and catch-up (issue 17 §5). A dead delivery stays in the
// outbox with its idempotency key; Redeliver puts it back to pending, so the
// receiver gets the same notice, body and key again (and dedupes it if it
// had it after all). Requeue does the same for every notice since a notice
// id that a subscriber has not received: its dead rows go back to pending,
// and notices it has no row for (it was disabled or not yet registered)
// get one. Both are admin writes, audited with the admin's name; a refused
// one is audited too.

// DeliveryRecord is one outbox row as operators see it.
type DeliveryRecord struct {
	ID             int64      `json:"id"`
	NoticeID       int64      `json:"notice_id"`
	SubscriberID   int64      `json:"subscriber_id"`
	IdempotencyKey string     `json:"idempotency_key"`
	State          string     `json:"state"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  time.Time  `json:"next_attempt_at"`
	LastError      *string    `json:"last_error"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	CreatedAt      time.Time  `json:"created_at"`
	Redeliveries   int        `json:"redeliveries"`
	RedeliveredAt  *time.Time `json:"redelivered_at"`
}

const deliverySelect = `SELECT o.id, o.notice_id, o.subscriber_id, o.idempotency_key::text, o.state, o.attempts, o.next_attempt_at,
	o.last_error, o.delivered_at, o.created_at, o.redeliveries, o.redelivered_at FROM outbox o `

func scanDelivery(r pgx.Row) (DeliveryRecord, error) {
	var d DeliveryRecord
	err := r.Scan(&d.ID, &d.NoticeID, &d.SubscriberID, &d.IdempotencyKey, &d.State, &d.Attempts, &d.NextAttemptAt,
		&d.LastError, &d.DeliveredAt, &d.CreatedAt, &d.Redeliveries, &d.RedeliveredAt)
	return d, err
}

// DeliveryStates are the states of an outbox row.
var DeliveryStates = []string{"pending", "running", "delivered", "dead"}

// DeliveryFilter selects a subscriber's deliveries for a list.
type DeliveryFilter struct {
	State string // "" for any
	// Before is a keyset cursor: rows with a smaller id.
	Before int64
	Limit  int
}

// Deliveries lists a subscriber's deliveries, newest first.
func (o Outbox) Deliveries(ctx context.Context, subscriber int64, f DeliveryFilter) ([]DeliveryRecord, error) {
	if f.State != "" && !slices.Contains(DeliveryStates, f.State) {
		return nil, zoning.Errorf(zoning.ErrInvalid, "state %q: want one of %v", f.State, DeliveryStates)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if _, err := o.Subscriber(ctx, subscriber); err != nil {
		return nil, err
	}
	rows, err := o.S.Pool.Query(ctx, deliverySelect+`WHERE o.subscriber_id = $1 AND ($2 = '' OR o.state = $2) AND ($3::bigint = 0 OR o.id < $3)
		ORDER BY o.id DESC LIMIT $4`, subscriber, f.State, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries of subscriber %d: %w", subscriber, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeliveryRecord, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("deliveries of subscriber %d: %w", subscriber, err)
	}
	if out == nil {
		out = []DeliveryRecord{}
	}
	return out, nil
}

// write runs fn in a transaction with its audit entry and wakes the
// delivery workers of every replica; a refusal (conflict) is audited in a
// transaction of its own.
func (o Outbox) write(ctx context.Context, origin zoning.Origin, rec *auditRecord, fn func(pgx.Tx) error) error {
	notify := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, OutboxChannel, rec.entityID); err != nil {
			return fmt.Errorf("notify deliveries: %w", err)
		}
		return nil
	}
	return auditedWrite(ctx, o.S, origin, rec, fn, notify, nil)
}

// lockSubscriber locks an active subscriber for a redelivery.
func lockSubscriber(ctx context.Context, tx pgx.Tx, id int64) (countyIDs []int64, err error) {
	var active bool
	err = tx.QueryRow(ctx, `SELECT active, county_ids FROM subscribers WHERE id = $1 FOR UPDATE`, id).Scan(&active, &countyIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, zoning.Errorf(zoning.ErrNotFound, "subscriber %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock subscriber %d: %w", id, err)
	}
	if !active {
		return nil, zoning.Errorf(zoning.ErrConflict, "subscriber %d is disabled: enable it (PATCH {\"active\": true}) before redelivering", id)
	}
	return countyIDs, nil
}

// Redeliver puts a dead delivery of a subscriber back to pending, due now,
// with its original idempotency key and a fresh retry budget, and returns
// the row as written. A delivery that is not dead is refused (conflict): a
// pending or running one is still being tried, a delivered one arrived.
func (o Outbox) Redeliver(ctx context.Context, origin zoning.Origin, subscriber, delivery int64) (DeliveryRecord, error) {
	if origin.Reason == "" {
		origin.Reason = "redeliver a dead webhook delivery"
	}
	rec := &auditRecord{action: "delivery.redeliver", entity: "delivery", entityID: strconv.FormatInt(delivery, 10)}
	var out DeliveryRecord
	err := o.write(ctx, origin, rec, func(tx pgx.Tx) error {
		if _, err := lockSubscriber(ctx, tx, subscriber); err != nil {
			return err
		}
		d, err := scanDelivery(tx.QueryRow(ctx, deliverySelect+`WHERE o.id = $1 AND o.subscriber_id = $2 FOR UPDATE`, delivery, subscriber))
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "subscriber %d has no delivery %d", subscriber, delivery)
		}
		if err != nil {
			return fmt.Errorf("load delivery %d: %w", delivery, err)
		}
		rec.before = map[string]any{"state": d.State, "attempts": d.Attempts, "notice_id": d.NoticeID, "subscriber_id": subscriber}
		if d.State != "dead" {
			return zoning.Errorf(zoning.ErrConflict, "delivery %d is %s, not dead: only a dead delivery can be redelivered", delivery, d.State)
		}
		if out, err = scanDelivery(tx.QueryRow(ctx, query("notice_outbox_redeliver"), []int64{delivery})); err != nil {
			return fmt.Errorf("redeliver delivery %d: %w", delivery, err)
		}
		rec.after = map[string]any{"state": out.State, "notice_id": out.NoticeID, "subscriber_id": subscriber,
			"idempotency_key": out.IdempotencyKey, "retry_base": out.Attempts, "redeliveries": out.Redeliveries}
		return nil
	})
	return out, err
}

// MaxRequeue bounds the notices one Requeue goes through; the answer says
// where to continue.
const MaxRequeue = 500

// RequeueResult is what a Requeue wrote: the rows put back to pending
// (dead ones, original keys), the rows created for notices the subscriber
// had none for, and the notices left alone (pending, running or delivered).
type RequeueResult struct {
	SubscriberID int64            `json:"subscriber_id"`
	SinceID      int64            `json:"since_id"`
	Requeued     []DeliveryRecord `json:"requeued"`
	Created      []DeliveryRecord `json:"created"`
	Unchanged    []DeliveryRecord `json:"unchanged"`
	// NextSinceID is the last notice gone through; More says whether
	// notices after it are left for another call.
	NextSinceID int64 `json:"next_since_id"`
	More        bool  `json:"more"`
}

// Requeue queues to a subscriber every notice after notice sinceID (of its
// counties, in order, at most MaxRequeue) that it has not received: dead
// rows go back to pending with their original idempotency keys, notices
// without a row get one. Rows pending, running or delivered stay as they
// are (the receiver has them or will).
func (o Outbox) Requeue(ctx context.Context, origin zoning.Origin, subscriber, sinceID int64) (RequeueResult, error) {
	res := RequeueResult{SubscriberID: subscriber, SinceID: sinceID, NextSinceID: sinceID,
		Requeued: []DeliveryRecord{}, Created: []DeliveryRecord{}, Unchanged: []DeliveryRecord{}}
	if sinceID < 0 {
		return res, zoning.Errorf(zoning.ErrInvalid, "since_id %d: want a notice id, or 0 for every notice", sinceID)
	}
	if origin.Reason == "" {
		origin.Reason = fmt.Sprintf("queue again the notices since %d", sinceID)
	}
	rec := &auditRecord{action: "subscriber.requeue", entity: "subscriber", entityID: strconv.FormatInt(subscriber, 10)}
	err := o.write(ctx, origin, rec, func(tx pgx.Tx) error {
		if _, err := lockSubscriber(ctx, tx, subscriber); err != nil {
			return err
		}
		if sinceID > 0 {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notices WHERE id = $1)`, sinceID).Scan(&ok); err != nil {
				return fmt.Errorf("notice %d: %w", sinceID, err)
			}
			if !ok {
				return zoning.Errorf(zoning.ErrNotFound, "notice %d not found", sinceID)
			}
		}
		rows, err := tx.Query(ctx, query("notice_outbox_requeue"), subscriber, sinceID, MaxRequeue+1)
		if err != nil {
			return fmt.Errorf("notices since %d: %w", sinceID, err)
		}
		notices, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("notices since %d: %w", sinceID, err)
		}
		if len(notices) > MaxRequeue {
			notices, res.More = notices[:MaxRequeue], true
		}
		// Notices without a row get one, with a fresh key: there was no
		// original delivery.
		rows, err = tx.Query(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key, next_attempt_at)
			SELECT n, $1, gen_random_uuid(), now() FROM unnest($2::bigint[]) AS n ORDER BY n
			ON CONFLICT (notice_id, subscriber_id) DO NOTHING RETURNING id`, subscriber, notices)
		if err != nil {
			return fmt.Errorf("queue notices since %d: %w", sinceID, err)
		}
		created, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("queue notices since %d: %w", sinceID, err)
		}
		rows, err = tx.Query(ctx, deliverySelect+`WHERE o.subscriber_id = $1 AND o.notice_id = ANY ($2::bigint[])
			ORDER BY o.notice_id FOR UPDATE`, subscriber, notices)
		if err != nil {
			return fmt.Errorf("deliveries since notice %d: %w", sinceID, err)
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeliveryRecord, error) { return scanDelivery(r) })
		if err != nil {
			return fmt.Errorf("deliveries since notice %d: %w", sinceID, err)
		}
		var dead []int64
		for _, d := range all {
			if d.State == "dead" {
				dead = append(dead, d.ID)
			}
		}
		redelivered := map[int64]DeliveryRecord{}
		if len(dead) > 0 {
			rows, err := tx.Query(ctx, query("notice_outbox_redeliver"), dead)
			if err != nil {
				return fmt.Errorf("requeue dead deliveries: %w", err)
			}
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeliveryRecord, error) { return scanDelivery(r) })
			if err != nil {
				return fmt.Errorf("requeue dead deliveries: %w", err)
			}
			for _, d := range got {
				redelivered[d.ID] = d
			}
		}
		var requeuedIDs, createdIDs []int64
		for _, d := range all {
			switch {
			case slices.Contains(created, d.ID):
				res.Created = append(res.Created, d)
				createdIDs = append(createdIDs, d.NoticeID)
			case d.State == "dead":
				res.Requeued = append(res.Requeued, redelivered[d.ID])
				requeuedIDs = append(requeuedIDs, d.NoticeID)
			default:
				res.Unchanged = append(res.Unchanged, d)
			}
		}
		if len(notices) > 0 {
			res.NextSinceID = notices[len(notices)-1]
		}
		rec.before = map[string]any{"since_id": sinceID}
		rec.after = map[string]any{"requeued_notices": requeuedIDs, "created_notices": createdIDs,
			"unchanged": len(res.Unchanged), "next_since_id": res.NextSinceID, "more": res.More}
		return nil
	})
	return res, err
}
