package postgis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

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

	// Notice ids commit in order: the id is taken under a lock held until
	// this transaction ends, so a reader paging by id (NoticesSince, the
	// webhook order) never passes a smaller id that commits later.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('riskzone-notice-ids')::bigint)`); err != nil {
		return 0, zoning.CAPRef{}, fmt.Errorf("lock notice ids: %w", err)
	}
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
// one area per zone in force after the notice (nt.Current), each named by
// its zone id and version in <geocode>. An Alert or Update carries the
// whole situation, so that its areas replace those of the messages it
// references; a lift that leaves zones in force is such an Update. Only a
// Cancel (nothing remains in force) carries the lifted zones instead, for
// information: it withdraws every referenced message.
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
		geo := []zoning.CAPValue{{ValueName: zoning.CAPGeocodeZone, Value: strconv.FormatInt(z.ZoneID, 10)},
			{ValueName: zoning.CAPGeocodeVersion, Value: strconv.Itoa(z.Version)}}
		zh.Areas = append(zh.Areas, zoning.CAPArea{Desc: zoning.CAPAreaDesc(z, "zh"), Rings: r, Geocodes: geo})
		en.Areas = append(en.Areas, zoning.CAPArea{Desc: zoning.CAPAreaDesc(z, "en"), Rings: r, Geocodes: geo})
	}
	msg.Infos = []zoning.CAPInfo{zh, en}
	return msg, nil
}

// capRings loads the CAP polygons of zone versions, by zone: the public
// map's rings (notice_cap_rings.sql), or, for a zone with a ring that the
// rounding to 7 decimals makes touch itself, its made-valid rings
// (notice_cap_rings_valid.sql).
func capRings(ctx context.Context, tx pgx.Tx, refs []zoneRef) (map[int64][][][2]float64, error) {
	out, err := loadCAPRings(ctx, tx, "notice_cap_rings", refs)
	if err != nil {
		return nil, err
	}
	var bad []zoneRef
	for _, r := range refs {
		for _, ring := range out[r.id] {
			if _, err := zoning.CAPPolygon(ring); err != nil {
				bad = append(bad, r)
				break
			}
		}
	}
	if len(bad) == 0 {
		return out, nil
	}
	valid, err := loadCAPRings(ctx, tx, "notice_cap_rings_valid", bad)
	if err != nil {
		return nil, err
	}
	for _, r := range bad {
		out[r.id] = valid[r.id]
	}
	return out, nil
}

func loadCAPRings(ctx context.Context, tx pgx.Tx, sql string, refs []zoneRef) (map[int64][][][2]float64, error) {
	out := map[int64][][][2]float64{}
	if len(refs) == 0 {
		return out, nil
	}
	ids, versions := splitRefs(refs)
	rows, err := tx.Query(ctx, query(sql), ids, versions)
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
		var reason string
		if err := rows.Scan(&t.ZoneID, &t.Version, &t.Name, &t.Level, &status, &change, &t.Population, &clock, &earliest, &reason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("zones of a notice: %w", err)
		}
		t.ClockStart, t.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
		if change == zoning.ChangeOverrideLift {
			t.OverrideReason = strings.TrimSpace(reason)
			t.Override = true
		}
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
		var source, sourceID string
		if err := rows.Scan(&zone, &a.BuildingID, &a.District, &a.DistrictEn, &a.Street, &a.StreetEn, &a.Compound, &a.Number,
			&a.Name, &a.UnitNumber, &a.Unit, &source, &sourceID); err != nil {
			return nil, fmt.Errorf("addresses of zones: %w", err)
		}
		a.Ref = zoning.SourceRef(source, sourceID)
		out[zone] = append(out[zone], a)
	}
	return out, rows.Err()
}
