package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Outbox is the transactional outbox of webhook deliveries (SPEC §5: "a
// notice is never lost and never delivered as two different notices"). A
// publication writes one row per (notice, subscriber) in the notice's own
// transaction; delivery workers on any replica claim due rows with FOR
// UPDATE SKIP LOCKED in one UPDATE … RETURNING, under a lease
// (locked_until). A worker that dies mid-delivery leaves its rows running
// with a lease that expires; the next claim rescues them. Every attempt is
// recorded in delivery_attempts; after MaxAttempts a row is dead.
//
// A small table of our own rather than a job queue library: the rows are the
// deliveries themselves (one per subscriber and notice, with a stable
// idempotency key the receiver dedupes by), the admin API and the tests
// read them directly, and the claim is one statement.
type Outbox struct {
	S *Store
}

// Delivery is a claimed outbox row.
type Delivery struct {
	OutboxID       int64
	NoticeID       int64
	SubscriberID   int64
	IdempotencyKey string
	// Attempt is this attempt's number (1 for the first); RetryBase the
	// attempts made before the row's latest redelivery, so that
	// Attempt-RetryBase is the attempt of the current round.
	Attempt      int
	RetryBase    int
	URL          string
	Secret       string
	SubscriberOn bool
}

// Claim claims up to limit due deliveries for lease.
func (o Outbox) Claim(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	rows, err := o.S.Pool.Query(ctx, query("notice_outbox_claim"), limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		return d, r.Scan(&d.OutboxID, &d.NoticeID, &d.SubscriberID, &d.IdempotencyKey, &d.Attempt, &d.RetryBase, &d.URL, &d.Secret, &d.SubscriberOn)
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// Outcome is how a delivery attempt ended.
type Outcome struct {
	Started    time.Time
	Duration   time.Duration
	StatusCode int // 0 when no answer came
	Err        string
	// State is delivered, pending (retry after RetryIn) or dead.
	State   string
	RetryIn time.Duration
}

// Finish records an attempt and moves the row on, in one transaction. It
// reports false when the row was no longer held by this attempt (its lease
// expired and another worker claimed it).
func (o Outbox) Finish(ctx context.Context, d Delivery, out Outcome) (bool, error) {
	tx, err := o.S.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	var status *int
	if out.StatusCode != 0 {
		status = &out.StatusCode
	}
	var errText *string
	if out.Err != "" {
		e := out.Err
		if len(e) > 1000 {
			e = e[:1000]
		}
		errText = &e
	}
	if _, err := tx.Exec(ctx, `INSERT INTO delivery_attempts (outbox_id, attempt, started_at, duration_ms, status_code, error)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (outbox_id, attempt) DO NOTHING`,
		d.OutboxID, d.Attempt, out.Started, max(0, int(out.Duration.Milliseconds())), status, errText); err != nil {
		return false, fmt.Errorf("record attempt %d of delivery %d: %w", d.Attempt, d.OutboxID, err)
	}
	tag, err := tx.Exec(ctx, query("notice_outbox_finish"), d.OutboxID, d.Attempt, out.State, out.RetryIn.Seconds(), errText)
	if err != nil {
		return false, fmt.Errorf("finish delivery %d: %w", d.OutboxID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("finish delivery %d: %w", d.OutboxID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Release gives a claimed row back without an attempt, due after retryIn
// (see notice_outbox_release.sql); false when the row was no longer held.
func (o Outbox) Release(ctx context.Context, d Delivery, retryIn time.Duration) (bool, error) {
	tag, err := o.S.Pool.Exec(ctx, query("notice_outbox_release"), d.OutboxID, d.Attempt, retryIn.Seconds())
	if err != nil {
		return false, fmt.Errorf("release delivery %d: %w", d.OutboxID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// NextDue is how long until the next delivery falls due; ok is false when
// nothing waits.
func (o Outbox) NextDue(ctx context.Context) (time.Duration, bool, error) {
	var secs *float64
	if err := o.S.Pool.QueryRow(ctx, query("notice_outbox_next")).Scan(&secs); err != nil {
		return 0, false, fmt.Errorf("next delivery: %w", err)
	}
	if secs == nil {
		return 0, false, nil
	}
	return time.Duration(*secs * float64(time.Second)), true, nil
}

// Payload is the JSON body of a notice's webhook: the notice and a GeoJSON
// FeatureCollection of the zone versions it changed. It is the same for
// every subscriber and every attempt (notices and versions never change).
func (o Outbox) Payload(ctx context.Context, noticeID int64, baseURL string) ([]byte, error) {
	nt, err := Notices{S: o.S}.Get(ctx, noticeID)
	if err != nil {
		return nil, err
	}
	rows, err := o.S.Pool.Query(ctx, query("notice_payload_zones"), noticeID)
	if err != nil {
		return nil, fmt.Errorf("zones of notice %d: %w", noticeID, err)
	}
	type feature struct {
		Type       string          `json:"type"`
		ID         string          `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	features, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (feature, error) {
		var zone int64
		var version, population int
		var name, level, status, change, geo string
		var clock, earliest time.Time
		if err := r.Scan(&zone, &version, &name, &level, &status, &change, &population, &clock, &earliest, &geo); err != nil {
			return feature{}, err
		}
		return feature{Type: "Feature", ID: fmt.Sprintf("%d-v%d", zone, version), Geometry: json.RawMessage(geo),
			Properties: map[string]any{"zone_id": zone, "version": version, "name": name, "level": level, "status": status,
				"change": change, "population": population, "clock_start": zoning.AsDate(clock),
				"earliest_lifting": zoning.AsDate(earliest)}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("zones of notice %d: %w", noticeID, err)
	}
	if features == nil {
		features = []feature{}
	}
	links := map[string]string{}
	if baseURL != "" {
		links["html"] = fmt.Sprintf("%s/notices/%d", baseURL, nt.ID)
		links["cap"] = fmt.Sprintf("%s/notices/%d.cap", baseURL, nt.ID)
	}
	body := map[string]any{
		"type":   "riskzone.notice",
		"notice": nt,
		"links":  links,
		"zones":  map[string]any{"type": "FeatureCollection", "features": features},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode payload of notice %d: %w", noticeID, err)
	}
	return b, nil
}

// DeliveryCounts counts outbox rows by state (for tests, status pages and
// benchmarks).
func (o Outbox) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := o.S.Pool.Query(ctx, `SELECT state, count(*)::int FROM outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[s] = n
	}
	rows.Close()
	return out, rows.Err()
}

// ---- subscribers -----------------------------------------------------------

// CreateSubscriber registers a webhook subscriber and returns it with its
// secret (generated when not given), which is shown only this once.
func (o Outbox) CreateSubscriber(ctx context.Context, origin zoning.Origin, ns zoning.NewSubscriber) (zoning.Subscriber, string, error) {
	if err := ns.Validate(); err != nil {
		return zoning.Subscriber{}, "", err
	}
	secret := ns.Secret
	if secret == "" {
		s, err := zoning.NewSecret()
		if err != nil {
			return zoning.Subscriber{}, "", fmt.Errorf("subscriber secret: %w", err)
		}
		secret = "whsec_" + s
	}
	counties := ns.CountyIDs
	if counties == nil {
		counties = []int64{}
	}
	tx, err := o.S.Pool.Begin(ctx)
	if err != nil {
		return zoning.Subscriber{}, "", fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if len(counties) > 0 {
		var known int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM admin_areas WHERE id = ANY ($1::bigint[]) AND level = 'county'`, counties).Scan(&known); err != nil {
			return zoning.Subscriber{}, "", fmt.Errorf("check counties: %w", err)
		}
		if known != len(counties) {
			return zoning.Subscriber{}, "", zoning.Errorf(zoning.ErrInvalid, "county_ids: not every id names a county")
		}
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO subscribers (name, url, secret, county_ids, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		ns.Name, ns.URL, secret, counties, actorID(origin)).Scan(&id); err != nil {
		return zoning.Subscriber{}, "", fmt.Errorf("insert subscriber: %w", err)
	}
	if err := zoningAudit(ctx, tx, origin, "subscriber.create", "subscriber", strconv.FormatInt(id, 10), nil,
		map[string]any{"name": ns.Name, "url": ns.URL, "county_ids": counties}); err != nil {
		return zoning.Subscriber{}, "", err
	}
	s, err := subscriber(ctx, tx, id)
	if err != nil {
		return zoning.Subscriber{}, "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return zoning.Subscriber{}, "", fmt.Errorf("commit subscriber: %w", err)
	}
	return s, secret, nil
}

const subscriberSelect = `SELECT s.id, s.name, s.url, s.county_ids, s.active, left(s.secret, 10), s.created_at,
	coalesce((SELECT jsonb_object_agg(x.state, x.n) FROM (SELECT state, count(*) AS n FROM outbox WHERE subscriber_id = s.id GROUP BY state) x), '{}')
FROM subscribers s `

func scanSubscriber(r pgx.Row) (zoning.Subscriber, error) {
	var s zoning.Subscriber
	var counts []byte
	if err := r.Scan(&s.ID, &s.Name, &s.URL, &s.CountyIDs, &s.Active, &s.SecretPrefix, &s.CreatedAt, &counts); err != nil {
		return s, err
	}
	s.SecretPrefix += "…"
	if s.CountyIDs == nil {
		s.CountyIDs = []int64{}
	}
	if err := json.Unmarshal(counts, &s.Deliveries); err != nil {
		return s, err
	}
	return s, nil
}

// Subscriber returns one subscriber (without its secret).
func (o Outbox) Subscriber(ctx context.Context, id int64) (zoning.Subscriber, error) {
	return subscriber(ctx, o.S.Pool, id)
}

// subscriber reads one subscriber through q (a write's own transaction, so
// the write answers what it wrote, or the pool).
func subscriber(ctx context.Context, q querier, id int64) (zoning.Subscriber, error) {
	s, err := scanSubscriber(q.QueryRow(ctx, subscriberSelect+`WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, zoning.Errorf(zoning.ErrNotFound, "subscriber %d not found", id)
	}
	if err != nil {
		return s, fmt.Errorf("load subscriber %d: %w", id, err)
	}
	return s, nil
}

// Subscribers lists every subscriber (without secrets).
func (o Outbox) Subscribers(ctx context.Context) ([]zoning.Subscriber, error) {
	rows, err := o.S.Pool.Query(ctx, subscriberSelect+`ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Subscriber, error) { return scanSubscriber(r) })
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	if out == nil {
		out = []zoning.Subscriber{}
	}
	return out, nil
}

// SetSubscriberActive enables or disables a subscriber. Deliveries of a
// disabled subscriber that are still due end as dead when claimed.
func (o Outbox) SetSubscriberActive(ctx context.Context, origin zoning.Origin, id int64, active bool) (zoning.Subscriber, error) {
	tx, err := o.S.Pool.Begin(ctx)
	if err != nil {
		return zoning.Subscriber{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	var was bool
	err = tx.QueryRow(ctx, `SELECT active FROM subscribers WHERE id = $1 FOR UPDATE`, id).Scan(&was)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.Subscriber{}, zoning.Errorf(zoning.ErrNotFound, "subscriber %d not found", id)
	}
	if err != nil {
		return zoning.Subscriber{}, fmt.Errorf("lock subscriber %d: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE subscribers SET active = $2 WHERE id = $1`, id, active); err != nil {
		return zoning.Subscriber{}, fmt.Errorf("update subscriber %d: %w", id, err)
	}
	action := "subscriber.disable"
	if active {
		action = "subscriber.enable"
	}
	if err := zoningAudit(ctx, tx, origin, action, "subscriber", strconv.FormatInt(id, 10),
		map[string]any{"active": was}, map[string]any{"active": active}); err != nil {
		return zoning.Subscriber{}, err
	}
	out, err := subscriber(ctx, tx, id)
	if err != nil {
		return zoning.Subscriber{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return zoning.Subscriber{}, fmt.Errorf("commit subscriber %d: %w", id, err)
	}
	return out, nil
}

// OutboxStats is the outbox as the metrics show it.
type OutboxStats struct {
	// Rows by state (pending, running, delivered, dead).
	Rows map[string]float64
	// LagSeconds is the age of the oldest delivery that is due.
	LagSeconds float64
	// FailedAttempts counts the attempts that got no 2xx.
	FailedAttempts float64
}

// OutboxStats reads the outbox's rows by state, its lag and failed attempts.
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	out := OutboxStats{Rows: map[string]float64{}}
	if err := s.Pool.QueryRow(ctx, query("outbox_stats")).Scan(&out.Rows, &out.LagSeconds, &out.FailedAttempts); err != nil {
		return OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	return out, nil
}
