package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// Corrections follow the second-person rule: DraftCorrection stores what
// one publisher wants to say, ConfirmCorrection by another publisher
// publishes it (see zoning/correction.go).

const correctionColumns = `c.id, c.notice_id, c.county_id, c.note, c.effective_at, c.reason, c.state,
	d.username, c.drafted_at, COALESCE(x.username, ''), c.decided_at, c.published_notice_id`

const correctionFrom = ` FROM notice_corrections c JOIN users d ON d.id = c.drafted_by LEFT JOIN users x ON x.id = c.decided_by`

func scanCorrection(row pgx.Row) (zoning.CorrectionDraft, error) {
	var c zoning.CorrectionDraft
	err := row.Scan(&c.ID, &c.NoticeID, &c.CountyID, &c.Note, &c.EffectiveAt, &c.Reason, &c.State,
		&c.DraftedBy, &c.DraftedAt, &c.DecidedBy, &c.DecidedAt, &c.PublishedNoticeID)
	return c, err
}

func getCorrection(ctx context.Context, q querier, id int64, lock bool) (zoning.CorrectionDraft, int64, error) {
	sql := `SELECT ` + correctionColumns + `, c.drafted_by` + correctionFrom + ` WHERE c.id = $1`
	if lock {
		sql += ` FOR UPDATE OF c`
	}
	var c zoning.CorrectionDraft
	var draftedBy int64
	err := q.QueryRow(ctx, sql, id).Scan(&c.ID, &c.NoticeID, &c.CountyID, &c.Note, &c.EffectiveAt, &c.Reason, &c.State,
		&c.DraftedBy, &c.DraftedAt, &c.DecidedBy, &c.DecidedAt, &c.PublishedNoticeID, &draftedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, 0, zoning.Errorf(zoning.ErrNotFound, "no correction with id %d", id)
	}
	if err != nil {
		return c, 0, fmt.Errorf("load correction %d: %w", id, err)
	}
	return c, draftedBy, nil
}

// pendingCorrection locks correction cid for a decision, records it as the
// audit's before, and refuses one decided already (zoning.ErrConflict).
func pendingCorrection(ctx context.Context, tx pgx.Tx, cid int64, rec *auditRecord) (zoning.CorrectionDraft, int64, error) {
	c, draftedBy, err := getCorrection(ctx, tx, cid, true)
	if err != nil {
		return c, 0, err
	}
	rec.before = c
	if c.State != zoning.CorrectionPending {
		return c, 0, zoning.Errorf(zoning.ErrConflict, "correction %d is %s already", cid, c.State)
	}
	return c, draftedBy, nil
}

// DraftCorrection stores a correction of published notice id for a second
// publisher to confirm; nothing public changes yet. Only a signed-in user
// can draft one (the rule needs to know who).
func (n Notices) DraftCorrection(ctx context.Context, origin zoning.Origin, id int64, req zoning.CorrectionRequest) (zoning.CorrectionDraft, error) {
	if err := req.Validate(n.now()); err != nil {
		return zoning.CorrectionDraft{}, err
	}
	if origin.Actor.UserID == 0 {
		return zoning.CorrectionDraft{}, zoning.Errorf(zoning.ErrForbidden, "draft a correction: sign in as a publisher, so that a second publisher can confirm it")
	}
	origin.Reason = req.Reason
	if origin.Reason == "" {
		origin.Reason = "draft a correction of notice " + strconv.FormatInt(id, 10)
	}
	rec := &auditRecord{action: "notice.correction.draft", entity: "notice", entityID: strconv.FormatInt(id, 10)}
	var out zoning.CorrectionDraft
	err := auditedWrite(ctx, n.S, origin, rec, func(tx pgx.Tx) error {
		var cid int64
		err := tx.QueryRow(ctx, `
			INSERT INTO notice_corrections (notice_id, county_id, note, effective_at, reason, drafted_by)
			SELECT id, county_id, $2, $3, $4, $5 FROM notices WHERE id = $1
			RETURNING id`, id, req.Note, req.EffectiveAt, req.Reason, origin.Actor.UserID).Scan(&cid)
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no notice with id %d", id)
		}
		if err != nil {
			return fmt.Errorf("draft correction of notice %d: %w", id, err)
		}
		if out, _, err = getCorrection(ctx, tx, cid, false); err != nil {
			return err
		}
		rec.after = out
		return nil
	}, nil, nil)
	if err != nil {
		return zoning.CorrectionDraft{}, err
	}
	return out, nil
}

// PendingCorrections lists the drafted corrections of a county (0: all
// counties) that wait for a second publisher, oldest first.
func (n Notices) PendingCorrections(ctx context.Context, county int64) ([]zoning.CorrectionDraft, error) {
	rows, err := n.S.Pool.Query(ctx, `SELECT `+correctionColumns+correctionFrom+`
		WHERE c.state = 'pending' AND ($1 = 0 OR c.county_id = $1) ORDER BY c.id`, county)
	if err != nil {
		return nil, fmt.Errorf("pending corrections: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.CorrectionDraft, error) { return scanCorrection(r) })
	if err != nil {
		return nil, fmt.Errorf("pending corrections: %w", err)
	}
	return out, nil
}

// WithdrawCorrection withdraws a pending correction (any publisher, the
// drafter too); a decided one is zoning.ErrConflict.
func (n Notices) WithdrawCorrection(ctx context.Context, origin zoning.Origin, cid int64, dec zoning.CorrectionDecision) (zoning.CorrectionDraft, error) {
	if err := dec.Validate(); err != nil {
		return zoning.CorrectionDraft{}, err
	}
	origin.Reason = dec.Reason
	if origin.Reason == "" {
		origin.Reason = "withdraw correction " + strconv.FormatInt(cid, 10)
	}
	rec := &auditRecord{action: "notice.correction.withdraw", entity: "notice_correction", entityID: strconv.FormatInt(cid, 10)}
	var out zoning.CorrectionDraft
	err := auditedWrite(ctx, n.S, origin, rec, func(tx pgx.Tx) error {
		if _, _, err := pendingCorrection(ctx, tx, cid, rec); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE notice_corrections SET state = 'withdrawn', decided_by = $2, decided_at = now() WHERE id = $1`,
			cid, actorID(origin)); err != nil {
			return fmt.Errorf("withdraw correction %d: %w", cid, err)
		}
		var err error
		if out, _, err = getCorrection(ctx, tx, cid, false); err != nil {
			return err
		}
		rec.after = out
		return nil
	}, nil, nil)
	if err != nil {
		return zoning.CorrectionDraft{}, err
	}
	return out, nil
}

// ConfirmCorrection publishes drafted correction cid: a new notice (kind
// correction, CAP Update referencing the county's chain, or the corrected
// notice when the chain has closed since) that states the current public
// situation again with the drafted note. The confirming publisher must not
// be the one who drafted it. Zones do not change.
func (n Notices) ConfirmCorrection(ctx context.Context, origin zoning.Origin, cid int64, dec zoning.CorrectionDecision) (zoning.Notice, error) {
	if err := dec.Validate(); err != nil {
		return zoning.Notice{}, err
	}
	now := n.now()
	origin.Reason = dec.Reason
	if origin.Reason == "" {
		origin.Reason = "confirm correction " + strconv.FormatInt(cid, 10)
	}
	rec := &auditRecord{action: "notice.correct", entity: "notice_correction", entityID: strconv.FormatInt(cid, 10)}
	var out zoning.Notice
	err := Zones{S: n.S, Now: n.Now, Loc: n.Loc}.write(ctx, origin, rec, func(tx pgx.Tx) error {
		c, draftedBy, err := pendingCorrection(ctx, tx, cid, rec)
		if err != nil {
			return err
		}
		if err := secondPerson(origin, &draftedBy, fmt.Sprintf("confirm correction %d", cid), "you drafted it"); err != nil {
			return err
		}
		if err := lockCounty(ctx, tx, c.CountyID); err != nil {
			return err
		}
		olds, err := n.getManyQ(ctx, tx, []int64{c.NoticeID})
		if err != nil {
			return err
		}
		old := olds[0]
		county, err := loadCountyInfo(ctx, tx, old.CountyID)
		if err != nil {
			return err
		}
		cur, err := publicActive(ctx, tx, old.CountyID)
		if err != nil {
			return err
		}
		chain, err := loadChain(ctx, tx, old.CountyID)
		if err != nil {
			return err
		}
		if len(chain) == 0 {
			var doc string
			if err := tx.QueryRow(ctx, `SELECT cap_xml FROM notices WHERE id = $1`, old.ID).Scan(&doc); err != nil {
				return fmt.Errorf("CAP of notice %d: %w", old.ID, err)
			}
			h, err := zoning.ParseCAPHeader([]byte(doc))
			if err != nil {
				return err
			}
			chain = []zoning.CAPRef{h.Ref()}
		}
		effective := now
		if c.EffectiveAt != nil && c.EffectiveAt.After(now) {
			effective = *c.EffectiveAt
		}
		d := noticeDraft{county: county, number: county.notices + 1, kind: zoning.NoticeCorrection, status: old.Status,
			msgType: zoning.CAPUpdate, note: c.Note, published: now, effective: effective, publisher: actorID(origin),
			references: &old.ID, correctsNumber: old.Number, chain: chain}
		for zid, v := range cur {
			d.current = append(d.current, zoneRef{id: zid, version: v})
		}
		slices.SortFunc(d.current, func(a, b zoneRef) int { return int(a.id - b.id) })
		newID, _, err := n.writeNotice(ctx, tx, d)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE notice_corrections SET state = 'published', decided_by = $2, decided_at = $3, published_notice_id = $4 WHERE id = $1`,
			cid, actorID(origin), now, newID); err != nil {
			return fmt.Errorf("mark correction %d published: %w", cid, err)
		}
		rec.after = map[string]any{"notice_id": newID, "corrects": old.ID, "drafted_by": c.DraftedBy}
		if err := n.announce(ctx, tx, []int64{newID}); err != nil {
			return err
		}
		written, err := n.getManyQ(ctx, tx, []int64{newID})
		if err != nil {
			return err
		}
		out = written[0]
		return nil
	})
	if err != nil {
		return zoning.Notice{}, err
	}
	return out, nil
}
