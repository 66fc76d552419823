package postgis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// DefaultCAPSender is the CAP <sender> when Notices.Sender is empty.
const DefaultCAPSender = "riskzone@riskzone.invalid"

// Notices is the store of publication (SPEC §2 "Publication", §5): it turns
// the approved, unpublished zone versions of a county into notices, with
// their CAP messages and webhook outbox rows, and reads what the public may
// see.
//
// Publication model. A zone version is public once published_notice_id is
// set; the public map (view public_zone_versions) shows each zone's latest
// published version. Publish gathers the county's pending changes (the
// unpublished versions of its zones; all of them, or those of chosen zones
// with the zones a pending split or merge links to them), refuses when the
// publisher authored one of them (second person), and writes in ONE
// transaction, under the county lock the lifecycle writes take:
//
//   - at most two notices: a Cancel for the zones lifted (kind lift, or
//     normalize when no zone remains), then an Alert (first notice since the
//     county was last normal) or Update (otherwise) stating the changes and
//     the whole current situation, as the real announcements do;
//   - published_notice_id on every published version (actual notices only:
//     a test or exercise notice rehearses all the rest and leaves the public
//     map and the pending changes as they were), notice_zones rows
//     (the latest version of each changed zone), the CAP XML, the outbox
//     rows of the matching subscribers, the audit entry, a bump of the zones
//     and notices layers (NOTIFY riskzone_layers) and NOTIFY riskzone_outbox.
//
// Notices never change afterwards (the database refuses UPDATE and DELETE);
// a correction is a new notice (kind correction, CAP Update) that references
// the old one.
type Notices struct {
	S *Store
	// Now is the clock of publication times; nil means time.Now.
	Now func() time.Time
	// Loc is the time zone notices are written in; nil means zoning.ChinaTime().
	Loc *time.Location
	// Sender is the CAP <sender>; "" means DefaultCAPSender.
	Sender string
	// BaseURL is the public address of the service (https://host), written
	// into CAP <web>; "" leaves <web> out.
	BaseURL string
}

func (n Notices) now() time.Time {
	t := time.Now()
	if n.Now != nil {
		t = n.Now()
	}
	return t.Truncate(time.Microsecond)
}

func (n Notices) loc() *time.Location {
	if n.Loc != nil {
		return n.Loc
	}
	return zoning.ChinaTime()
}

func (n Notices) sender() string {
	if n.Sender != "" {
		return n.Sender
	}
	return DefaultCAPSender
}

// OutboxChannel is the NOTIFY channel a publication signals, so that
// delivery workers start at once instead of at their next poll.
const OutboxChannel = "riskzone_outbox"

// Publish publishes the pending changes of a county (see Notices) and
// returns the notices written, in order.
func (n Notices) Publish(ctx context.Context, origin zoning.Origin, req zoning.PublishRequest) ([]zoning.Notice, error) {
	now := n.now()
	if err := req.Validate(now); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Reason) != "" {
		origin.Reason = req.Reason
	} else if origin.Reason == "" {
		origin.Reason = "publish the approved changes"
	}
	rec := &auditRecord{action: "notice.publish", entity: "county", entityID: strconv.FormatInt(req.CountyID, 10)}
	var ids []int64
	err := Zones{S: n.S, Now: n.Now, Loc: n.Loc}.write(ctx, origin, rec, func(tx pgx.Tx) error {
		var err error
		ids, err = n.publish(ctx, tx, origin, req, now, rec, true)
		if err != nil {
			return err
		}
		return n.announce(ctx, tx, ids)
	})
	if err != nil {
		return nil, err
	}
	return n.getMany(ctx, ids)
}

// Preview returns the notices Publish would write now, without writing
// anything (the transaction is rolled back). The second-person rule is not
// applied: anyone who may publish may look.
func (n Notices) Preview(ctx context.Context, req zoning.PublishRequest) ([]zoning.Notice, error) {
	now := n.now()
	if err := req.Validate(now); err != nil {
		return nil, err
	}
	tx, err := n.S.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	ids, err := n.publish(ctx, tx, zoning.Origin{}, req, now, &auditRecord{}, false)
	if err != nil {
		return nil, err
	}
	return n.getManyQ(ctx, tx, ids)
}

func (n Notices) announce(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if err := bumpLayers(ctx, tx, "zones", "notices"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, OutboxChannel, joinIDs(ids)); err != nil {
		return fmt.Errorf("notify deliveries: %w", err)
	}
	return nil
}

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
	type group struct {
		zones  []int64
		cancel bool
	}
	var groups []group
	if len(lifts) > 0 {
		groups = append(groups, group{zones: lifts, cancel: true})
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
		if g.cancel {
			d.msgType = zoning.CAPCancel
			d.kind = zoning.NoticeLift
			if len(after) == 0 {
				d.kind = zoning.NoticeNormalize
			}
		} else {
			var changes []string
			for _, id := range group {
				changes = append(changes, pending[id].change)
			}
			d.kind = zoning.NoticeKindOf(changes)
			d.msgType = zoning.CAPUpdate
			if len(chain) == 0 {
				d.msgType = zoning.CAPAlert
			}
		}
		for _, id := range group {
			p := pending[id]
			d.changed = append(d.changed, zoneRef{id: id, version: p.Latest().Version, change: p.change, via: p.Latest().Change})
		}
		remaining := after
		if d.msgType == zoning.CAPCancel {
			// A Cancel lists what stays public besides the lifted zones: the
			// zones the public saw before, less the lifted ones.
			remaining = map[int64]int{}
			for id, v := range before {
				if !slices.Contains(group, id) {
					remaining[id] = v
				}
			}
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

type zoneRef struct {
	id      int64
	version int
	change  string
	via     string
}

// noticeDraft is a notice about to be written.
type noticeDraft struct {
	county           countyInfo
	number           int
	kind, status     string
	msgType          string
	note             string
	published        time.Time
	effective        time.Time
	publisher        *int64
	references       *int64
	correctsNumber   int
	chain            []zoning.CAPRef
	current, changed []zoneRef
}

// writeNotice renders the notice's text and CAP message and inserts it.
func (n Notices) writeNotice(ctx context.Context, tx pgx.Tx, d noticeDraft) (int64, zoning.CAPRef, error) {
	all := append(slices.Clone(d.current), d.changed...)
	texts, err := zoneTexts(ctx, tx, all)
	if err != nil {
		return 0, zoning.CAPRef{}, err
	}
	nt := zoning.NoticeText{Kind: d.kind, Number: d.number, County: d.county.name, CountyEn: d.county.nameEn,
		Authority: d.county.authority, Rules: d.county.rules, EffectiveAt: d.effective, Loc: n.loc(), Note: d.note,
		CorrectsNumber: d.correctsNumber}
	for _, r := range d.current {
		nt.Current = append(nt.Current, texts[r])
	}
	for _, r := range d.changed {
		t := texts[zoneRef{id: r.id, version: r.version}]
		t.Change, t.Via = r.change, r.via
		nt.Changed = append(nt.Changed, t)
	}
	titleZh, titleEn := nt.Title()
	bodyZh, bodyEn := nt.Render()

	var id int64
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('notices', 'id'))`).Scan(&id); err != nil {
		return 0, zoning.CAPRef{}, fmt.Errorf("notice id: %w", err)
	}
	msg, err := n.capMessage(ctx, tx, id, d, nt, titleZh, titleEn, bodyZh, bodyEn)
	if err != nil {
		return 0, zoning.CAPRef{}, err
	}
	doc, err := msg.Marshal()
	if err != nil {
		return 0, zoning.CAPRef{}, fmt.Errorf("CAP of notice %d: %w", id, err)
	}
	if _, err := tx.Exec(ctx, query("notice_insert"), id, d.county.id, d.kind, d.status, titleZh, titleEn, bodyZh, bodyEn,
		d.effective, d.published, d.publisher, d.references, msg.Identifier, msg.MsgType, string(doc)); err != nil {
		return 0, zoning.CAPRef{}, fmt.Errorf("insert notice: %w", err)
	}
	if _, err := tx.Exec(ctx, query("notice_outbox_insert"), id, d.county.id); err != nil {
		return 0, zoning.CAPRef{}, fmt.Errorf("outbox of notice %d: %w", id, err)
	}
	return id, zoning.CAPRef{Sender: msg.Sender, Identifier: msg.Identifier, Sent: zoning.CAPTime(msg.Sent)}, nil
}

// capMessage builds the CAP message of a notice: one info per language,
// one area per zone (the lifted zones for a Cancel, the whole current map
// otherwise).
func (n Notices) capMessage(ctx context.Context, tx pgx.Tx, id int64, d noticeDraft, nt zoning.NoticeText,
	titleZh, titleEn, bodyZh, bodyEn string) (zoning.CAPMessage, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return zoning.CAPMessage{}, fmt.Errorf("CAP identifier: %w", err)
	}
	loc := n.loc()
	msg := zoning.CAPMessage{
		Identifier: fmt.Sprintf("riskzone-%d-%d-%s", d.county.id, d.number, hex.EncodeToString(suffix[:])),
		Sender:     n.sender(),
		Sent:       d.published.In(loc),
		Status:     zoning.CAPStatus(d.status),
		MsgType:    d.msgType,
		Effective:  d.effective.In(loc),
		Onset:      d.effective.In(loc),
	}
	if d.msgType != zoning.CAPAlert {
		msg.References = slices.Clone(d.chain)
	}
	if d.kind == zoning.NoticeCorrection {
		msg.Note = "Correction / 更正: " + d.note
	}
	areaZones := nt.Current
	if d.msgType == zoning.CAPCancel {
		areaZones = nt.Changed
	}
	// expires: the day after the latest earliest-lifting date of the areas
	// (a later notice updates it), and at least a day after taking effect.
	expires := d.effective.Add(24 * time.Hour)
	if d.msgType != zoning.CAPCancel {
		for _, z := range areaZones {
			y, m, day := z.EarliestLifting.Date()
			t := time.Date(y, m, day, 0, 0, 0, 0, loc).AddDate(0, 0, 1)
			if t.After(expires) {
				expires = t
			}
		}
	}
	msg.Expires = expires.In(loc)
	var refs []zoneRef
	for _, z := range areaZones {
		refs = append(refs, zoneRef{id: z.ZoneID, version: z.Version})
	}
	rings, err := capRings(ctx, tx, refs)
	if err != nil {
		return msg, err
	}
	web := ""
	if n.BaseURL != "" {
		web = strings.TrimRight(n.BaseURL, "/") + fmt.Sprintf("/notices/%d", id)
	}
	event, eventEn, response, urgency, severity := "疫情风险区", "Epidemic risk zones", "Shelter", "Immediate", "Severe"
	if d.msgType == zoning.CAPCancel {
		event, eventEn, response, urgency, severity = "疫情风险区解除", "Epidemic risk zones lifted", "AllClear", "Past", "Minor"
	}
	var instrZh, instrEn []string
	for _, l := range d.county.rules.Levels {
		instrZh = append(instrZh, l.NameZh+"："+strings.TrimRight(l.MeasuresZh, "。")+"。")
		instrEn = append(instrEn, l.NameEn+": "+strings.TrimRight(l.MeasuresEn, ".")+".")
	}
	authority := d.county.authority
	if authority == "" {
		authority = d.county.name
	}
	zh := zoning.CAPInfo{Language: "zh-CN", Event: event, ResponseType: response, Urgency: urgency, Severity: severity,
		Certainty: "Observed", Headline: titleZh, Description: bodyZh, Instruction: strings.Join(instrZh, "\n"),
		SenderName: authority, Web: web}
	en := zoning.CAPInfo{Language: "en", Event: eventEn, ResponseType: response, Urgency: urgency, Severity: severity,
		Certainty: "Observed", Headline: titleEn, Description: bodyEn, Instruction: strings.Join(instrEn, "\n"),
		SenderName: authority, Web: web}
	for _, z := range areaZones {
		r := rings[z.ZoneID]
		if len(r) == 0 {
			continue
		}
		zh.Areas = append(zh.Areas, zoning.CAPArea{Desc: capAreaDesc(z, "zh"), Rings: r})
		en.Areas = append(en.Areas, zoning.CAPArea{Desc: capAreaDesc(z, "en"), Rings: r})
	}
	msg.Infos = []zoning.CAPInfo{zh, en}
	return msg, nil
}

// capAreaDesc is a short area description: the zone's first address and
// how many more.
func capAreaDesc(z zoning.ZoneText, lang string) string {
	d := zoning.ShortAreaDesc(z, lang)
	if r := []rune(d); len(r) > 120 {
		d = string(r[:119]) + "…"
	}
	return d
}

func capRings(ctx context.Context, tx pgx.Tx, refs []zoneRef) (map[int64][][][2]float64, error) {
	out := map[int64][][][2]float64{}
	if len(refs) == 0 {
		return out, nil
	}
	ids, versions := splitRefs(refs)
	rows, err := tx.Query(ctx, query("notice_cap_rings"), ids, versions)
	if err != nil {
		return nil, fmt.Errorf("CAP polygons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var g string
		if err := rows.Scan(&id, &g); err != nil {
			return nil, fmt.Errorf("CAP polygons: %w", err)
		}
		var line struct {
			Coordinates [][2]float64 `json:"coordinates"`
		}
		if err := json.Unmarshal([]byte(g), &line); err != nil {
			return nil, fmt.Errorf("CAP polygon of zone %d: %w", id, err)
		}
		out[id] = append(out[id], line.Coordinates)
	}
	return out, rows.Err()
}

func splitRefs(refs []zoneRef) ([]int64, []int32) {
	ids := make([]int64, len(refs))
	versions := make([]int32, len(refs))
	for i, r := range refs {
		ids[i], versions[i] = r.id, int32(r.version)
	}
	return ids, versions
}

// zoneTexts loads zone versions with their addresses, keyed by
// zoneRef{id, version}.
func zoneTexts(ctx context.Context, q querier, refs []zoneRef) (map[zoneRef]zoning.ZoneText, error) {
	out := map[zoneRef]zoning.ZoneText{}
	if len(refs) == 0 {
		return out, nil
	}
	var uniq []zoneRef
	seen := map[zoneRef]bool{}
	for _, r := range refs {
		k := zoneRef{id: r.id, version: r.version}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	ids, versions := splitRefs(uniq)
	rows, err := q.Query(ctx, query("notice_zone_texts"), ids, versions)
	if err != nil {
		return nil, fmt.Errorf("zones of a notice: %w", err)
	}
	for rows.Next() {
		var t zoning.ZoneText
		var status, change string
		var clock, earliest time.Time
		if err := rows.Scan(&t.ZoneID, &t.Version, &t.Name, &t.Level, &status, &change, &t.Population, &clock, &earliest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("zones of a notice: %w", err)
		}
		t.ClockStart, t.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
		out[zoneRef{id: t.ZoneID, version: t.Version}] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("zones of a notice: %w", err)
	}
	addrs, err := addresses(ctx, q, ids, versions)
	if err != nil {
		return nil, err
	}
	for k, t := range out {
		t.Addresses = addrs[k.id]
		out[k] = t
	}
	return out, nil
}

func addresses(ctx context.Context, q querier, ids []int64, versions []int32) (map[int64][]zoning.Address, error) {
	rows, err := q.Query(ctx, query("notice_addresses"), ids, versions)
	if err != nil {
		return nil, fmt.Errorf("addresses of zones: %w", err)
	}
	defer rows.Close()
	out := map[int64][]zoning.Address{}
	for rows.Next() {
		var zone int64
		var a zoning.Address
		if err := rows.Scan(&zone, &a.BuildingID, &a.District, &a.DistrictEn, &a.Street, &a.StreetEn, &a.Compound, &a.Number,
			&a.Name, &a.UnitNumber, &a.Unit); err != nil {
			return nil, fmt.Errorf("addresses of zones: %w", err)
		}
		out[zone] = append(out[zone], a)
	}
	return out, rows.Err()
}

// Correct publishes a correction of notice id: a new notice (kind
// correction, CAP Update referencing the county's chain, or the corrected
// notice when the chain has closed since) that states the current public
// situation again with the publisher's note. Zones do not change.
func (n Notices) Correct(ctx context.Context, origin zoning.Origin, id int64, req zoning.CorrectionRequest) (zoning.Notice, error) {
	now := n.now()
	if err := req.Validate(now); err != nil {
		return zoning.Notice{}, err
	}
	origin.Reason = req.Reason
	if origin.Reason == "" {
		origin.Reason = "correct notice " + strconv.FormatInt(id, 10)
	}
	old, err := n.Get(ctx, id)
	if err != nil {
		return zoning.Notice{}, err
	}
	rec := &auditRecord{action: "notice.correct", entity: "notice", entityID: strconv.FormatInt(id, 10)}
	var newID int64
	err = Zones{S: n.S, Now: n.Now, Loc: n.Loc}.write(ctx, origin, rec, func(tx pgx.Tx) error {
		if err := lockCounty(ctx, tx, old.CountyID); err != nil {
			return err
		}
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
			if err := tx.QueryRow(ctx, `SELECT cap_xml FROM notices WHERE id = $1`, id).Scan(&doc); err != nil {
				return fmt.Errorf("CAP of notice %d: %w", id, err)
			}
			h, err := zoning.ParseCAPHeader([]byte(doc))
			if err != nil {
				return err
			}
			chain = []zoning.CAPRef{h.Ref()}
		}
		effective := now
		if req.EffectiveAt != nil && req.EffectiveAt.After(now) {
			effective = *req.EffectiveAt
		}
		d := noticeDraft{county: county, number: county.notices + 1, kind: zoning.NoticeCorrection, status: old.Status,
			msgType: zoning.CAPUpdate, note: req.Note, published: now, effective: effective, publisher: actorID(origin),
			references: &old.ID, correctsNumber: old.Number, chain: chain}
		for zid, v := range cur {
			d.current = append(d.current, zoneRef{id: zid, version: v})
		}
		slices.SortFunc(d.current, func(a, b zoneRef) int { return int(a.id - b.id) })
		newID, _, err = n.writeNotice(ctx, tx, d)
		if err != nil {
			return err
		}
		rec.after = map[string]any{"notice_id": newID, "corrects": id}
		return n.announce(ctx, tx, []int64{newID})
	})
	if err != nil {
		return zoning.Notice{}, err
	}
	return n.Get(ctx, newID)
}

// ---- reading notices -----------------------------------------------------------

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

// ---- public reads ------------------------------------------------------------

// PublicCounties returns the public situation of every county (county 0)
// or of one.
func (n Notices) PublicCounties(ctx context.Context, county int64) ([]zoning.PublicCounty, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_public_counties"), county)
	if err != nil {
		return nil, fmt.Errorf("public counties: %w", err)
	}
	var out []zoning.PublicCounty
	ruleIDs := map[int64]string{}
	for rows.Next() {
		var c zoning.PublicCounty
		var rule, level string
		var zones, pop int
		if err := rows.Scan(&c.ID, &c.Name, &c.NameEn, &c.Authority, &rule, &c.BBox[0], &c.BBox[1], &c.BBox[2], &c.BBox[3],
			&level, &zones, &pop); err != nil {
			rows.Close()
			return nil, fmt.Errorf("public counties: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != c.ID {
			ruleIDs[c.ID] = rule
			out = append(out, c)
		}
		if level != "" && zones > 0 {
			last := &out[len(out)-1]
			last.Levels = append(last.Levels, zoning.LevelCount{Level: level, Zones: zones, Population: pop})
			last.Zoned = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("public counties: %w", err)
	}
	rules := map[string]zoning.RuleSet{}
	for i := range out {
		c := &out[i]
		id := ruleIDs[c.ID]
		r, ok := rules[id]
		if !ok {
			if r, err = loadRuleSet(ctx, n.S.Pool, id); err != nil {
				return nil, err
			}
			rules[id] = r
		}
		c.Rules = r
		// Every level above the lowest, in rule-set order, with its count.
		var levels []zoning.LevelCount
		for _, l := range r.Levels[:len(r.Levels)-1] {
			lc := zoning.LevelCount{Level: l.Code, NameZh: l.NameZh, NameEn: l.NameEn}
			for _, x := range c.Levels {
				if x.Level == l.Code {
					lc.Zones, lc.Population = x.Zones, x.Population
				}
			}
			levels = append(levels, lc)
		}
		c.Levels = levels
		last, err := n.List(ctx, NoticeFilter{CountyID: c.ID, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) > 0 {
			c.LastNotice = &last[0]
		}
	}
	if out == nil {
		out = []zoning.PublicCounty{}
	}
	return out, nil
}

// PublicZones returns public zones (public_zone_versions): the active ones
// of a county (county 0: all counties), or one zone in any status (zone >
// 0), with addresses, measures and, for one zone, its notices.
func (n Notices) PublicZones(ctx context.Context, county, zone int64) ([]zoning.PublicZone, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_public_zones"), county, zone, zone == 0)
	if err != nil {
		return nil, fmt.Errorf("public zones: %w", err)
	}
	var out []zoning.PublicZone
	var ruleIDs []string
	for rows.Next() {
		var z zoning.PublicZone
		var clock, earliest time.Time
		var since *time.Time
		var geo string
		if err := rows.Scan(&z.ZoneID, &z.Version, &z.CountyID, &z.County, &z.CountyEn, &z.Name, &z.Level, &z.Status, &z.Population,
			&clock, &earliest, &since, &z.BBox[0], &z.BBox[1], &z.BBox[2], &z.BBox[3], &geo); err != nil {
			rows.Close()
			return nil, fmt.Errorf("public zones: %w", err)
		}
		z.ClockStart, z.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
		if since != nil {
			z.Since = *since
		}
		z.Geometry = []byte(geo)
		out = append(out, z)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("public zones: %w", err)
	}
	if zone > 0 && len(out) == 0 {
		return nil, zoning.Errorf(zoning.ErrNotFound, "zone %d is not public", zone)
	}
	if len(out) == 0 {
		return []zoning.PublicZone{}, nil
	}
	// Rule sets, measures and addresses.
	refs := make([]zoneRef, len(out))
	for i, z := range out {
		refs[i] = zoneRef{id: z.ZoneID, version: z.Version}
	}
	ids, versions := splitRefs(refs)
	addrs, err := addresses(ctx, n.S.Pool, ids, versions)
	if err != nil {
		return nil, err
	}
	if err := n.S.Pool.QueryRow(ctx, `SELECT array_agg(v.rule_set_id ORDER BY k.ord)
		FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS k (zone_id, version, ord)
		JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version`, ids, versions).Scan(&ruleIDs); err != nil {
		return nil, fmt.Errorf("rule sets of public zones: %w", err)
	}
	rules := map[string]zoning.RuleSet{}
	for i := range out {
		z := &out[i]
		z.Addresses = addrs[z.ZoneID]
		r, ok := rules[ruleIDs[i]]
		if !ok {
			if r, err = loadRuleSet(ctx, n.S.Pool, ruleIDs[i]); err != nil {
				return nil, err
			}
			rules[ruleIDs[i]] = r
		}
		if l, err := r.Level(z.Level); err == nil {
			z.LevelZh, z.LevelEn, z.MeasuresZh, z.MeasuresEn = l.NameZh, l.NameEn, l.MeasuresZh, l.MeasuresEn
		}
		if zone > 0 {
			ns, err := n.List(ctx, NoticeFilter{ZoneID: z.ZoneID, Limit: 500})
			if err != nil {
				return nil, err
			}
			slices.Reverse(ns)
			z.Notices = ns
		}
	}
	return out, nil
}

// Timeline returns the public timeline (see zoning.TimelineEntry).
func (n Notices) Timeline(ctx context.Context) ([]zoning.TimelineEntry, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_timeline"))
	if err != nil {
		return nil, fmt.Errorf("public timeline: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.TimelineEntry, error) {
		var e zoning.TimelineEntry
		var earliest time.Time
		err := r.Scan(&e.ZoneID, &e.Version, &e.CountyID, &e.Name, &e.Level, &e.Status, &e.NoticeID, &e.From, &e.Until, &earliest, &e.WKB)
		e.EarliestLifting = zoning.AsDate(earliest)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("public timeline: %w", err)
	}
	return out, nil
}

// Changes returns the zone changes published after since, oldest first.
func (n Notices) Changes(ctx context.Context, since time.Time, limit int) ([]zoning.PublicChange, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_changes"), since, limit)
	if err != nil {
		return nil, fmt.Errorf("public changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.PublicChange, error) {
		var c zoning.PublicChange
		err := r.Scan(&c.NoticeID, &c.Kind, &c.Status, &c.PublishedAt, &c.EffectiveAt, &c.ZoneID, &c.Version, &c.CountyID, &c.Name,
			&c.Level, &c.ZoneStatus, &c.BBox[0], &c.BBox[1], &c.BBox[2], &c.BBox[3])
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("public changes: %w", err)
	}
	if out == nil {
		out = []zoning.PublicChange{}
	}
	return out, nil
}

// BuildingAddress is a building found by address for the public lookup.
type BuildingAddress struct {
	BuildingID int64   `json:"building_id"`
	CountyID   int64   `json:"county_id"`
	District   string  `json:"district"`
	Street     string  `json:"street"`
	Compound   string  `json:"compound"`
	Number     string  `json:"number"`
	Name       string  `json:"name"`
	Lon        float64 `json:"lon"`
	Lat        float64 `json:"lat"`
}

// BuildingAddresses streams the address of every building with a compound
// name, with a point inside its footprint, to fn (for the lookup's
// in-memory address index).
func (n Notices) BuildingAddresses(ctx context.Context, fn func(BuildingAddress)) error {
	rows, err := n.S.Pool.Query(ctx, query("notice_building_addresses"))
	if err != nil {
		return fmt.Errorf("building addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b BuildingAddress
		var county *int64
		if err := rows.Scan(&b.BuildingID, &county, &b.District, &b.Street, &b.Compound, &b.Number, &b.Name, &b.Lon, &b.Lat); err != nil {
			return fmt.Errorf("building addresses: %w", err)
		}
		if county != nil {
			b.CountyID = *county
		}
		fn(b)
	}
	return rows.Err()
}

// LayerVersion returns the version of a layer (layer_versions), 0 when
// the layer has no row.
func (n Notices) LayerVersion(ctx context.Context, layer string) (int64, error) {
	var v int64
	err := n.S.Pool.QueryRow(ctx, `SELECT coalesce((SELECT version FROM layer_versions WHERE layer = $1), 0)`, layer).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("layer version %s: %w", layer, err)
	}
	return v, nil
}

// CountyShape is a county's outline, for the lookup's "which county".
type CountyShape struct {
	ID     int64
	Name   string
	NameEn string
	WKB    []byte
}

// CountyShapes returns every county's outline (WKB, lon/lat).
func (n Notices) CountyShapes(ctx context.Context) ([]CountyShape, error) {
	rows, err := n.S.Pool.Query(ctx, `SELECT id, name, name_en, ST_AsBinary(geom) FROM admin_areas WHERE level = 'county' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("county outlines: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CountyShape, error) {
		var c CountyShape
		return c, r.Scan(&c.ID, &c.Name, &c.NameEn, &c.WKB)
	})
	if err != nil {
		return nil, fmt.Errorf("county outlines: %w", err)
	}
	return out, nil
}
