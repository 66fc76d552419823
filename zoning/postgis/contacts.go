package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning"
)

// Contacts stores close and secondary contacts and their closed-loop steps
// (restricted health data, zoning/contacts.go has the rules).
type Contacts struct {
	S *Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Loc is the calendar of exposure dates; nil means each county's own.
	Loc *time.Location
}

func (cs Contacts) now() time.Time {
	if cs.Now != nil {
		return cs.Now()
	}
	return time.Now()
}

// MaxContactsBatch is the most contacts one request registers.
const MaxContactsBatch = 5000

// ContactFilter selects contacts: a county, only those with an overdue
// step, keyset paging by id.
type ContactFilter struct {
	CountyID int64
	Overdue  bool
	AfterID  int64
	Limit    int
}

// closedLoopLimits are the limits of county's rule set.
func closedLoopLimits(ctx context.Context, q querier, county int64) (zoning.ClosedLoopLimits, error) {
	var raw []byte
	err := q.QueryRow(ctx, `SELECT r.closed_loop FROM admin_areas a
		JOIN rule_sets r ON r.id = coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
		WHERE a.id = $1`, county).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.ClosedLoopLimits{}, zoning.Errorf(zoning.ErrNotFound, "no county with id %d", county)
	}
	if err != nil {
		return zoning.ClosedLoopLimits{}, fmt.Errorf("closed-loop limits of county %d: %w", county, err)
	}
	return zoning.ParseClosedLoopLimits(raw)
}

// Create registers contacts in one transaction, all or none, and answers
// them as written, read inside the transaction.
func (cs Contacts) Create(ctx context.Context, origin zoning.Origin, list []zoning.NewContact) ([]zoning.Contact, error) {
	if len(list) == 0 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "no contacts given")
	}
	if len(list) > MaxContactsBatch {
		return nil, zoning.Errorf(zoning.ErrTooLarge, "%d contacts in one request: at most %d", len(list), MaxContactsBatch)
	}
	now := cs.now()
	clock := Cases{S: cs.S, Now: cs.Now, Loc: cs.Loc}
	today := map[int64]zoning.Date{}
	for i, c := range list {
		d, ok := today[c.CountyID]
		if !ok && c.CountyID > 0 {
			var err error
			if d, err = clock.countyToday(ctx, cs.S.Pool, c.CountyID); err != nil {
				return nil, contactRow(len(list), i, err)
			}
			today[c.CountyID] = d
		}
		if err := c.Validate(now, d); err != nil {
			return nil, contactRow(len(list), i, err)
		}
	}
	var out []zoning.Contact
	rec := &auditRecord{action: "contact.create", entity: "contact"}
	err := auditedWrite(ctx, cs.S, origin, rec, func(tx pgx.Tx) error {
		ids := make([]int64, 0, len(list))
		for i, c := range list {
			id, err := insertContact(ctx, tx, origin, c)
			if err != nil {
				return contactRow(len(list), i, err)
			}
			ids = append(ids, id)
		}
		rec.entityID = idList(ids)
		rec.after = map[string]any{"count": len(ids)}
		var err error
		out, err = cs.getMany(ctx, tx, ids, now)
		return err
	}, nil, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func contactRow(n, i int, err error) error {
	if n <= 1 {
		return err
	}
	if k := zoning.Kind(err); k != nil {
		return zoning.Errorf(k, "contact %d: %s", i+1, zoning.Message(err))
	}
	return fmt.Errorf("contact %d: %w", i+1, err)
}

func insertContact(ctx context.Context, tx pgx.Tx, origin zoning.Origin, c zoning.NewContact) (int64, error) {
	if err := checkCounty(ctx, tx, c.CountyID); err != nil {
		return 0, err
	}
	caseID, viaID := c.CaseID, c.ViaContactID
	if c.CaseNo != "" || caseID != nil {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE county_id = $1 AND (id = $2 OR case_no = $3)`, c.CountyID, caseID, c.CaseNo).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, zoning.Errorf(zoning.ErrInvalid, "no case %s in county %d", caseRef(c.CaseID, c.CaseNo), c.CountyID)
		}
		if err != nil {
			return 0, fmt.Errorf("look up case: %w", err)
		}
		caseID = &id
	}
	if c.ViaContactNo != "" || viaID != nil {
		var id int64
		var kind string
		err := tx.QueryRow(ctx, `SELECT id, kind FROM contacts WHERE county_id = $1 AND (id = $2 OR contact_no = $3)`,
			c.CountyID, viaID, c.ViaContactNo).Scan(&id, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, zoning.Errorf(zoning.ErrInvalid, "no contact %s in county %d", caseRef(c.ViaContactID, c.ViaContactNo), c.CountyID)
		}
		if err != nil {
			return 0, fmt.Errorf("look up contact: %w", err)
		}
		if kind != zoning.ContactClose {
			return 0, zoning.Errorf(zoning.ErrInvalid, "contact %s is a %s contact: a secondary contact comes from a close contact", caseRef(c.ViaContactID, c.ViaContactNo), kind)
		}
		viaID = &id
	}
	res, err := resolveResidence(ctx, tx, c.CountyID, c.Residence)
	if err != nil {
		return 0, err
	}
	var exposure any
	if c.LastExposure != "" {
		exposure = c.LastExposure
	}
	var pointWKT any
	if res.point != nil {
		pointWKT = fmt.Sprintf("POINT(%.8f %.8f)", res.point[0], res.point[1])
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO contacts (contact_no, county_id, kind, case_id, via_contact_id, identified_at,
			last_exposure_date, residence_unit_id, residence_building_id, residence_point, residence_address,
			residence_snap_m, h3_r11, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ST_GeomFromText($10, 4326), $11, $12, $13, $14)
		RETURNING id`,
		c.ContactNo, c.CountyID, c.Kind, caseID, viaID, c.IdentifiedAt, exposure, res.unitID, res.buildingID, pointWKT,
		c.Residence.Address, res.snapM, cell(res.lon, res.lat), actorID(origin)).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateUniqueViolation {
		return 0, zoning.Errorf(zoning.ErrConflict, "contact_no %s already exists in county %d", c.ContactNo, c.CountyID)
	}
	if err != nil {
		return 0, fmt.Errorf("insert contact: %w", err)
	}
	return id, nil
}

func caseRef(id *int64, no string) string {
	if id != nil {
		return "id " + strconv.FormatInt(*id, 10)
	}
	return no
}

const contactColumns = `c.id, c.contact_no, c.county_id, c.kind, c.case_id, c.via_contact_id, c.identified_at,
	coalesce(to_char(c.last_exposure_date, 'YYYY-MM-DD'), ''), c.residence_unit_id, c.residence_building_id,
	c.residence_address, c.residence_snap_m, c.site_id, c.site_manual,
	coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.step, 'done_at', s.done_at, 'done_by', coalesce(u.username, 'cli'), 'note', s.note)
	          ORDER BY s.done_at, array_position(ARRAY['contact', 'visit', 'transfer', 'disinfect'], s.step))
	          FROM contact_steps s LEFT JOIN users u ON u.id = s.done_by WHERE s.contact_id = c.id), '[]')`

func scanContact(row pgx.Row) (zoning.Contact, error) {
	var c zoning.Contact
	err := row.Scan(&c.ID, &c.ContactNo, &c.CountyID, &c.Kind, &c.CaseID, &c.ViaContactID, &c.IdentifiedAt, &c.LastExposure,
		&c.UnitID, &c.BuildingID, &c.Address, &c.SnapM, &c.SiteID, &c.SiteManual, &c.Steps)
	return c, err
}

// assess fills each contact's status and deadlines from its county's rule set.
func assess(ctx context.Context, q querier, list []zoning.Contact, now time.Time) error {
	limits := map[int64]zoning.ClosedLoopLimits{}
	for i := range list {
		l, ok := limits[list[i].CountyID]
		if !ok {
			var err error
			if l, err = closedLoopLimits(ctx, q, list[i].CountyID); err != nil {
				return err
			}
			limits[list[i].CountyID] = l
		}
		list[i].Assess(l, now)
	}
	return nil
}

func (cs Contacts) getMany(ctx context.Context, q querier, ids []int64, now time.Time) ([]zoning.Contact, error) {
	rows, err := q.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = ANY ($1) ORDER BY c.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	if len(out) != len(ids) {
		return nil, zoning.Errorf(zoning.ErrNotFound, "no contact with id %s", idList(ids))
	}
	return out, assess(ctx, q, out, now)
}

// Get reads a contact with its steps and deadlines.
func (cs Contacts) Get(ctx context.Context, id int64) (zoning.Contact, error) {
	out, err := cs.getMany(ctx, cs.S.Pool, []int64{id}, cs.now())
	if err != nil {
		return zoning.Contact{}, err
	}
	return out[0], nil
}

// List reads contacts by id order; with Overdue only those with a step past
// its limit.
func (cs Contacts) List(ctx context.Context, f ContactFilter) ([]zoning.Contact, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to 1000", f.Limit)
	}
	now := cs.now()
	// Overdue is decided in Go from each county's limits; the query keeps
	// the contacts with a step still to do, so a page fills.
	var out []zoning.Contact
	after := f.AfterID
	for len(out) < f.Limit {
		rows, err := cs.S.Pool.Query(ctx, `SELECT `+contactColumns+` FROM contacts c
			WHERE ($1 = 0 OR c.county_id = $1) AND c.id > $2
			  AND (NOT $3 OR (SELECT count(*) FROM contact_steps s WHERE s.contact_id = c.id) < 4)
			ORDER BY c.id LIMIT $4`, f.CountyID, after, f.Overdue, f.Limit)
		if err != nil {
			return nil, fmt.Errorf("list contacts: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Contact, error) { return scanContact(r) })
		if err != nil {
			return nil, fmt.Errorf("list contacts: %w", err)
		}
		if err := assess(ctx, cs.S.Pool, page, now); err != nil {
			return nil, err
		}
		for _, c := range page {
			if (!f.Overdue || len(c.Overdue) > 0) && len(out) < f.Limit {
				out = append(out, c)
			}
		}
		if len(page) < f.Limit {
			break
		}
		after = page[len(page)-1].ID
	}
	if out == nil {
		out = []zoning.Contact{}
	}
	return out, nil
}

// RecordStep records a closed-loop step of contact id and answers the
// contact as written.
func (cs Contacts) RecordStep(ctx context.Context, origin zoning.Origin, id int64, r zoning.StepRecord) (zoning.Contact, error) {
	now := cs.now()
	origin.Reason = r.Reason
	if origin.Reason == "" {
		origin.Reason = "closed loop: " + r.Step
	}
	rec := &auditRecord{action: "contact.step", entity: "contact", entityID: strconv.FormatInt(id, 10)}
	var out zoning.Contact
	err := auditedWrite(ctx, cs.S, origin, rec, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("lock contact %d: %w", id, err)
		}
		before, err := cs.getMany(ctx, tx, []int64{id}, now)
		if err != nil {
			return err
		}
		rec.before = map[string]any{"status": before[0].Status}
		at, err := r.Validate(before[0], now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_steps (contact_id, step, done_at, done_by, note) VALUES ($1, $2, $3, $4, $5)`,
			id, r.Step, at, actorID(origin), r.Note); err != nil {
			return fmt.Errorf("record step %s of contact %d: %w", r.Step, id, err)
		}
		after, err := cs.getMany(ctx, tx, []int64{id}, now)
		if err != nil {
			return err
		}
		out = after[0]
		rec.after = map[string]any{"step": r.Step, "done_at": at, "status": out.Status}
		return nil
	}, nil, nil)
	if err != nil {
		return zoning.Contact{}, err
	}
	return out, nil
}

// Location is the clock of county (admin_areas.time_zone), or Loc when set:
// a contact list written without offsets is read in it.
func (cs Contacts) Location(ctx context.Context, county int64) (*time.Location, error) {
	if cs.Loc != nil {
		return cs.Loc, nil
	}
	return cs.S.CountyLocation(ctx, county)
}
