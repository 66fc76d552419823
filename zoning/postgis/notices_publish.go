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

// countyInfo is what a notice needs to know of its county.
type countyInfo struct {
	id                      int64
	name, nameEn, authority string
	rules                   zoning.RuleSet
	notices                 int // notices published so far
}

func loadCountyInfo(ctx context.Context, tx pgx.Tx, county int64) (countyInfo, error) {
	ci := countyInfo{id: county}
	err := tx.QueryRow(ctx, `SELECT name, name_en, authority, (SELECT count(*) FROM notices WHERE county_id = $1 AND status = 'actual')::int
		FROM admin_areas WHERE id = $1 AND level = 'county'`, county).Scan(&ci.name, &ci.nameEn, &ci.authority, &ci.notices)
	if errors.Is(err, pgx.ErrNoRows) {
		return ci, zoning.Errorf(zoning.ErrNotFound, "county %d not found", county)
	}
	if err != nil {
		return ci, fmt.Errorf("load county %d: %w", county, err)
	}
	if ci.rules, err = countyRuleSet(ctx, tx, county); err != nil {
		return ci, err
	}
	return ci, nil
}

// pendingZone is a zone with unpublished versions and their authors.
type pendingZone struct {
	zoning.PendingZone
	authors []*int64
	change  string // zoning.NoticeChange*
}

// publish writes the notices of a publication in tx; checkAuthors applies
// the second-person rule (Preview has nobody publishing).
func (n Notices) publish(ctx context.Context, tx pgx.Tx, origin zoning.Origin, req zoning.PublishRequest, now time.Time,
	rec *auditRecord, checkAuthors bool) ([]int64, error) {
	if err := lockCounty(ctx, tx, req.CountyID); err != nil {
		return nil, err
	}
	county, err := loadCountyInfo(ctx, tx, req.CountyID)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, query("notice_pending"), req.CountyID)
	if err != nil {
		return nil, fmt.Errorf("pending changes of county %d: %w", req.CountyID, err)
	}
	var order []int64
	pending := map[int64]*pendingZone{}
	for rows.Next() {
		var id int64
		var parents []int64
		var v zoning.PendingVersion
		var author *int64
		var pubVersion int
		var pubStatus string
		if err := rows.Scan(&id, &parents, &v.Version, &v.Status, &v.Change, &author, &pubVersion, &pubStatus); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pending changes of county %d: %w", req.CountyID, err)
		}
		p, ok := pending[id]
		if !ok {
			p = &pendingZone{PendingZone: zoning.PendingZone{ZoneID: id, ParentZoneIDs: parents, PublicVersion: pubVersion, PublicStatus: pubStatus}}
			pending[id] = p
			order = append(order, id)
		}
		p.Versions = append(p.Versions, v)
		p.authors = append(p.authors, author)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending changes of county %d: %w", req.CountyID, err)
	}
	// What the public sees now: the county's active public zones.
	before, err := publicActive(ctx, tx, req.CountyID)
	if err != nil {
		return nil, err
	}
	publicParents := map[int64]bool{}
	for id := range before {
		publicParents[id] = true
	}
	var candidates []int64
	for _, id := range order {
		p := pending[id]
		p.change = p.Classify(publicParents)
		if p.change != "" {
			candidates = append(candidates, id)
		}
	}
	selected, err := selectZones(candidates, pending, req.ZoneIDs, req.CountyID)
	if err != nil {
		return nil, err
	}
	if len(selected) == 0 {
		return nil, zoning.Errorf(zoning.ErrConflict, "county %d has no approved change waiting for publication", req.CountyID)
	}
	// Second person: the publisher made none of the changes published.
	for _, id := range selected {
		p := pending[id]
		for i, a := range p.authors {
			if !checkAuthors {
				break
			}
			if err := secondPerson(origin, a, fmt.Sprintf("publish version %d of zone %d", p.Versions[i].Version, id),
				"you made this change; another publisher must publish it"); err != nil {
				return nil, err
			}
		}
	}
	// The map after the publication.
	after := map[int64]int{}
	for id, v := range before {
		after[id] = v
	}
	var lifts, others []int64
	for _, id := range selected {
		p := pending[id]
		last := p.Latest()
		if last.Status == zoning.ZoneActive {
			after[id] = last.Version
		} else {
			delete(after, id)
		}
		if p.change == zoning.NoticeChangeLifted {
			lifts = append(lifts, id)
		} else {
			others = append(others, id)
		}
	}
	othersActive := false
	for _, id := range others {
		othersActive = othersActive || pending[id].Latest().Status == zoning.ZoneActive
	}
	if !othersActive {
		lifts, others = append(lifts, others...), nil
	}
	chain, err := loadChain(ctx, tx, req.CountyID)
	if err != nil {
		return nil, err
	}
	effective := now
	if req.EffectiveAt != nil && req.EffectiveAt.After(now) {
		effective = req.EffectiveAt.Truncate(time.Microsecond)
	}
	// The lifted zones get a notice of their own (kind lift), before the
	// notice of the other changes, as the real announcements do. Its CAP
	// message is an Update carrying the zones still in force, which
	// replaces the areas of the whole chain; a Cancel only when nothing
	// remains in force (kind normalize: the county returns to normal).
	type group struct {
		zones []int64
		lift  bool
	}
	var groups []group
	if len(lifts) > 0 {
		groups = append(groups, group{zones: lifts, lift: true})
	}
	if len(others) > 0 {
		groups = append(groups, group{zones: others})
	}
	var ids []int64
	number := county.notices
	for _, g := range groups {
		group := g.zones
		number++
		d := noticeDraft{county: county, number: number, status: req.Status, note: req.Note, published: now, effective: effective,
			publisher: actorID(origin), chain: chain}
		// What is in force once this notice takes effect: the map after the
		// publication, or, for a lift followed by a notice of other changes,
		// the zones the public saw before less the lifted ones.
		remaining := after
		if g.lift {
			d.kind = zoning.NoticeLift
			if len(others) > 0 {
				remaining = map[int64]int{}
				for id, v := range before {
					if !slices.Contains(group, id) {
						remaining[id] = v
					}
				}
			}
			d.msgType = zoning.CAPUpdate
			if len(after) == 0 {
				d.kind, d.msgType = zoning.NoticeNormalize, zoning.CAPCancel
			}
		} else {
			var changes []string
			for _, id := range group {
				changes = append(changes, pending[id].change)
			}
			d.kind = zoning.NoticeKindOf(changes)
			d.msgType = zoning.CAPUpdate
		}
		if len(chain) == 0 {
			d.msgType = zoning.CAPAlert // the first message since the county was normal starts a chain
		}
		for _, id := range group {
			p := pending[id]
			d.changed = append(d.changed, zoneRef{id: id, version: p.Latest().Version, change: p.change, via: p.Latest().Change})
		}
		for id, v := range remaining {
			d.current = append(d.current, zoneRef{id: id, version: v})
		}
		slices.SortFunc(d.current, func(a, b zoneRef) int { return int(a.id - b.id) })
		id, ref, err := n.writeNotice(ctx, tx, d)
		if err != nil {
			return nil, err
		}
		// A test or exercise notice rehearses the publication end to end
		// (pages, CAP, Atom, webhooks) but leaves the public map alone: the
		// changes stay pending for the actual notice.
		if req.Status == zoning.NoticeActual {
			if _, err := tx.Exec(ctx, `UPDATE zone_versions SET published_notice_id = $1
				WHERE zone_id = ANY ($2::bigint[]) AND published_notice_id IS NULL`, id, group); err != nil {
				return nil, fmt.Errorf("mark versions published by notice %d: %w", id, err)
			}
		}
		for _, z := range d.changed {
			if _, err := tx.Exec(ctx, `INSERT INTO notice_zones (notice_id, zone_id, version) VALUES ($1, $2, $3)`, id, z.id, z.version); err != nil {
				return nil, fmt.Errorf("notice %d zone %d: %w", id, z.id, err)
			}
		}
		chain = append(chain, ref)
		ids = append(ids, id)
	}
	rec.after = map[string]any{"notices": ids, "zones": selected, "status": req.Status}
	return ids, nil
}

// selectZones applies a publisher's choice: the zones named and the pending
// zones a split or merge links to them (parents and parts, transitively).
func selectZones(candidates []int64, pending map[int64]*pendingZone, chosen []int64, county int64) ([]int64, error) {
	if len(chosen) == 0 {
		return candidates, nil
	}
	in := map[int64]bool{}
	for _, id := range chosen {
		if !slices.Contains(candidates, id) {
			return nil, zoning.Errorf(zoning.ErrInvalid, "zone %d has no approved change of county %d waiting for publication", id, county)
		}
		in[id] = true
	}
	for grew := true; grew; {
		grew = false
		for _, id := range candidates {
			if in[id] {
				continue
			}
			p := pending[id]
			linked := false
			for _, parent := range p.ParentZoneIDs {
				linked = linked || in[parent]
			}
			for other := range in {
				linked = linked || slices.Contains(pending[other].ParentZoneIDs, id)
			}
			if linked {
				in[id], grew = true, true
			}
		}
	}
	var out []int64
	for _, id := range candidates {
		if in[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func publicActive(ctx context.Context, tx pgx.Tx, county int64) (map[int64]int, error) {
	rows, err := tx.Query(ctx, `SELECT zone_id, version FROM public_zone_versions WHERE county_id = $1 AND status = 'active'`, county)
	if err != nil {
		return nil, fmt.Errorf("public zones of county %d: %w", county, err)
	}
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var v int
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("public zones of county %d: %w", county, err)
		}
		out[id] = v
	}
	rows.Close()
	return out, rows.Err()
}

// loadChain reads the county's CAP chain (see notice_chain.sql) from the
// stored messages themselves, so references repeat them exactly.
func loadChain(ctx context.Context, tx pgx.Tx, county int64) ([]zoning.CAPRef, error) {
	rows, err := tx.Query(ctx, query("notice_chain"), county)
	if err != nil {
		return nil, fmt.Errorf("CAP chain of county %d: %w", county, err)
	}
	type stored struct {
		id  int64
		xml string
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var s stored
		return s, r.Scan(&s.id, &s.xml)
	})
	if err != nil {
		return nil, fmt.Errorf("CAP chain of county %d: %w", county, err)
	}
	out := make([]zoning.CAPRef, 0, len(docs))
	for _, d := range docs {
		h, err := zoning.ParseCAPHeader([]byte(d.xml))
		if err != nil {
			return nil, fmt.Errorf("CAP of notice %d: %w", d.id, err)
		}
		out = append(out, h.Ref())
	}
	return out, nil
}
