package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

func scanNotice(row pgx.Row) (zoning.Notice, error) {
	var nt zoning.Notice
	err := row.Scan(&nt.ID, &nt.CountyID, &nt.County, &nt.CountyEn, &nt.Number, &nt.Kind, &nt.Status, &nt.TitleZh, &nt.TitleEn,
		&nt.BodyZh, &nt.BodyEn, &nt.EffectiveAt, &nt.PublishedAt, &nt.References, &nt.CAPIdentifier, &nt.CAPMsgType)
	nt.Zones = []zoning.NoticeZone{}
	return nt, err
}

// Get returns a notice with the zone versions it published.
func (n Notices) Get(ctx context.Context, id int64) (zoning.Notice, error) {
	out, err := n.getManyQ(ctx, n.S.Pool, []int64{id})
	if err != nil {
		return zoning.Notice{}, err
	}
	if len(out) == 0 {
		return zoning.Notice{}, zoning.Errorf(zoning.ErrNotFound, "notice %d not found", id)
	}
	return out[0], nil
}

func (n Notices) getMany(ctx context.Context, ids []int64) ([]zoning.Notice, error) {
	return n.getManyQ(ctx, n.S.Pool, ids)
}

func (n Notices) getManyQ(ctx context.Context, q querier, ids []int64) ([]zoning.Notice, error) {
	rows, err := q.Query(ctx, query("notice_select")+` WHERE n.id = ANY ($1::bigint[]) ORDER BY n.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("load notices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Notice, error) { return scanNotice(r) })
	if err != nil {
		return nil, fmt.Errorf("load notices: %w", err)
	}
	idx := map[int64]int{}
	for i, nt := range out {
		idx[nt.ID] = i
	}
	rows, err = q.Query(ctx, query("notice_zones_of"), ids)
	if err != nil {
		return nil, fmt.Errorf("zones of notices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var nid int64
		var z zoning.NoticeZone
		if err := rows.Scan(&nid, &z.ZoneID, &z.Version, &z.Name, &z.Level, &z.Status, &z.Change); err != nil {
			return nil, fmt.Errorf("zones of notices: %w", err)
		}
		if i, ok := idx[nid]; ok {
			out[i].Zones = append(out[i].Zones, z)
		}
	}
	return out, rows.Err()
}

// CAPXML returns the CAP message of a notice exactly as published.
func (n Notices) CAPXML(ctx context.Context, id int64) (string, time.Time, error) {
	var doc string
	var at time.Time
	err := n.S.Pool.QueryRow(ctx, `SELECT cap_xml, published_at FROM notices WHERE id = $1`, id).Scan(&doc, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", at, zoning.Errorf(zoning.ErrNotFound, "notice %d not found", id)
	}
	if err != nil {
		return "", at, fmt.Errorf("CAP of notice %d: %w", id, err)
	}
	return doc, at, nil
}

// NoticeFilter selects notices for a list.
type NoticeFilter struct {
	CountyID int64
	ZoneID   int64
	// Before is a keyset cursor: notices with a smaller id.
	Before int64
	Limit  int
}

// List returns notice summaries, newest first.
func (n Notices) List(ctx context.Context, f NoticeFilter) ([]zoning.NoticeSummary, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := n.S.Pool.Query(ctx, query("notice_select")+`
		WHERE ($1::bigint = 0 OR n.county_id = $1)
		  AND ($2::bigint = 0 OR n.id < $2)
		  AND ($3::bigint = 0 OR EXISTS (SELECT 1 FROM notice_zones nz WHERE nz.notice_id = n.id AND nz.zone_id = $3))
		ORDER BY n.id DESC LIMIT $4`, f.CountyID, f.Before, f.ZoneID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.NoticeSummary, error) {
		nt, err := scanNotice(r)
		return summary(nt), err
	})
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	if out == nil {
		out = []zoning.NoticeSummary{}
	}
	return out, nil
}

func summary(nt zoning.Notice) zoning.NoticeSummary {
	return zoning.NoticeSummary{ID: nt.ID, CountyID: nt.CountyID, County: nt.County, Number: nt.Number, Kind: nt.Kind,
		Status: nt.Status, TitleZh: nt.TitleZh, TitleEn: nt.TitleEn, EffectiveAt: nt.EffectiveAt, PublishedAt: nt.PublishedAt,
		CAPIdentifier: nt.CAPIdentifier, CAPMsgType: nt.CAPMsgType}
}

// Feed returns the notices of the Atom feed (see notice_feed.sql), newest
// first.
func (n Notices) Feed(ctx context.Context, limit int) ([]zoning.Notice, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_feed"), n.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("feed notices: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("feed notices: %w", err)
	}
	out, err := n.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b zoning.Notice) int { return b.PublishedAt.Compare(a.PublishedAt) })
	return out, nil
}

// Pending lists the changes a publication of the county would publish now:
// the notices Preview renders, without writing them.
func (n Notices) Pending(ctx context.Context, county int64) ([]zoning.Notice, error) {
	out, err := n.Preview(ctx, zoning.PublishRequest{CountyID: county})
	if zoning.Kind(err) == zoning.ErrConflict {
		return []zoning.Notice{}, nil
	}
	return out, err
}
