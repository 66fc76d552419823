package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The demo story (issue 8): after the county is loaded, the lifecycle runs
// through the days before today with the real store functions, so that a
// newcomer finds a live map, notice pages, Atom and CAP entries at once:
//
//	day T0 = today-6: the engine proposes (cases reported by then), the
//	                  expert panel approves every proposal, notice 1 (Alert);
//	day T0+1:         one zone is adjusted (a building removed), one split in
//	                  two ("one zone, one policy"), notice 2 (Update);
//	day T0+5:         a zone with no infection since T0 is screened (all
//	                  negative) and lifted, notice 3 (CAP Update with the
//	                  zones still in force);
//	today:            the engine proposes again on every case: fresh
//	                  proposals wait for the panel.
//
// Three users play the parts the second-person rule separates:
// demo.proposer (expert: runs the engine, screens and lifts), demo.approver
// (expert: approves, adjusts, splits) and demo.publisher (publisher). Two
// webhook subscribers are registered first: one active, at a loopback
// address where nothing listens (its deliveries retry and end dead), one
// disabled. Everything but the timestamps of writes is deterministic.

// StoryUsers are the accounts the story acts as (created without a
// password when missing: they cannot sign in).
var storyUsers = []struct {
	name string
	role zoning.Role
}{{"demo.proposer", zoning.RoleExpert}, {"demo.approver", zoning.RoleExpert}, {"demo.publisher", zoning.RolePublisher}}

// StorySummary says what the story did.
type StorySummary struct {
	Proposals   int     // proposals of day T0
	Zones       int     // zones approved on day T0
	Adjusted    int64   // the zone adjusted
	Split       int64   // the zone split
	Parts       []int64 // its parts
	Lifted      int64   // the zone lifted
	Notices     []int64 // notices published, in order
	Subscribers int
	// FreshProposals are today's proposals, waiting for the panel.
	FreshProposals int
}

// TellStory runs the story on a freshly loaded demo county (sum is what
// Load returned). It refuses a county that already has zones.
func TellStory(ctx context.Context, store *postgis.Store, sum *Summary) (*StorySummary, error) {
	county := sum.CountyID
	var zones int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM zones WHERE county_id = $1`, county).Scan(&zones); err != nil {
		return nil, fmt.Errorf("demo story: %w", err)
	}
	if zones > 0 {
		return nil, zoning.Errorf(zoning.ErrConflict, "demo story: county %d already has zones", county)
	}
	users := map[string]zoning.User{}
	for _, u := range storyUsers {
		got, err := store.UserByUsername(ctx, u.name)
		if errors.Is(err, zoning.ErrNotFound) {
			got, err = store.CreateUser(ctx, zoning.Origin{Actor: sum.Options.actor(), Reason: "demo story"},
				zoning.NewUser{Username: u.name, DisplayName: "Demo " + u.name, Role: u.role})
		}
		if err != nil {
			return nil, fmt.Errorf("demo story: user %s: %w", u.name, err)
		}
		users[u.name] = got
	}
	as := func(name, reason string) zoning.Origin {
		return zoning.Origin{Actor: users[name].Principal(zoning.ViaCLI), RemoteAddr: "demo", Reason: reason}
	}
	proposerID := users["demo.proposer"].ID
	loc := zoning.ChinaTime()
	y, m, d := sum.Options.Today.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	day := func(n int, hour int) time.Time { return today.AddDate(0, 0, n).Add(time.Duration(hour) * time.Hour) }
	clock := &storyClock{t: day(-6, 9)}
	zs := postgis.Zones{S: store, Now: clock.now, Loc: loc}
	ns := postgis.Notices{S: store, Now: clock.now, Loc: loc}
	out := &StorySummary{}

	// Subscribers first, so the notices reach them.
	ob := postgis.Outbox{S: store}
	for _, s := range []struct {
		sub    zoning.NewSubscriber
		active bool
	}{
		{zoning.NewSubscriber{Name: "示范市卫生健康委员会 (demo: nothing listens here)", URL: "http://127.0.0.1:9/riskzone/webhook", CountyIDs: []int64{county}}, true},
		{zoning.NewSubscriber{Name: "示范市交通运输局 (demo: disabled)", URL: "http://127.0.0.1:9/transport/webhook"}, false},
	} {
		// A replacing load keeps subscribers: register each demo one once.
		var exists bool
		if err := store.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE url = $1)`, s.sub.URL).Scan(&exists); err != nil {
			return nil, fmt.Errorf("demo story: subscribers: %w", err)
		}
		if exists {
			out.Subscribers++
			continue
		}
		sub, _, err := ob.CreateSubscriber(ctx, as("demo.approver", "demo story"), s.sub)
		if err != nil {
			return nil, fmt.Errorf("demo story: subscriber: %w", err)
		}
		if !s.active {
			if _, err := ob.SetSubscriberActive(ctx, as("demo.approver", "demo story"), sub.ID, false); err != nil {
				return nil, fmt.Errorf("demo story: subscriber: %w", err)
			}
		}
		out.Subscribers++
	}

	// Day T0: propose, approve everything, publish.
	prop, err := zoning.Propose(ctx, postgis.Proposals{S: store}, zoning.ProposeRequest{CountyID: county, At: day(-6, 8), Now: time.Now()},
		&proposerID)
	if err != nil {
		return nil, fmt.Errorf("demo story: propose: %w", err)
	}
	out.Proposals = len(prop.IDs)
	if len(prop.IDs) == 0 {
		return nil, fmt.Errorf("demo story: the engine proposed no zone on %s", day(-6, 8).Format(time.DateOnly))
	}
	var zoneIDs []int64
	for i, id := range prop.IDs {
		clock.set(day(-6, 10).Add(time.Duration(i) * time.Minute))
		z, err := zs.Approve(ctx, as("demo.approver", "专家组研判：同意划定为高风险区"), id,
			zoning.ApproveRequest{Reason: "专家组研判：同意划定为高风险区"})
		if err != nil {
			return nil, fmt.Errorf("demo story: approve proposal %d: %w", id, err)
		}
		zoneIDs = append(zoneIDs, z.ID)
	}
	out.Zones = len(zoneIDs)
	publish := func(at time.Time, reason string) error {
		clock.set(at)
		eff := at.Add(2 * time.Hour)
		nts, err := ns.Publish(ctx, as("demo.publisher", reason), zoning.PublishRequest{CountyID: county, EffectiveAt: &eff, Reason: reason})
		if err != nil {
			return fmt.Errorf("demo story: publish: %w", err)
		}
		for _, n := range nts {
			out.Notices = append(out.Notices, n.ID)
		}
		return nil
	}
	if err := publish(day(-6, 16), "发布首批风险区"); err != nil {
		return nil, err
	}

	// Day T0+1: adjust one zone, split another.
	multi, err := zonesByBuildings(ctx, store, zoneIDs)
	if err != nil {
		return nil, err
	}
	if len(multi) >= 1 {
		z := multi[0]
		clock.set(day(-5, 10))
		if _, err := zs.EditMembers(ctx, as("demo.approver", "流调核实：该楼栋无关联风险"), z.id, zoning.MembersEdit{Version: 1,
			Reason: "流调核实：该楼栋无关联风险，调出高风险区", MemberChange: zoning.MemberChange{RemoveBuildings: []int64{z.buildings[len(z.buildings)-1]}}}); err != nil {
			return nil, fmt.Errorf("demo story: adjust zone %d: %w", z.id, err)
		}
		out.Adjusted = z.id
	}
	for _, z := range multi[min(1, len(multi)):] {
		parts, err := splitParts(ctx, store, z.id)
		if err != nil {
			return nil, err
		}
		if parts == nil {
			continue
		}
		clock.set(day(-5, 11))
		got, err := zs.Split(ctx, as("demo.approver", "一区一策"), z.id, zoning.SplitRequest{Version: 1, Parts: parts,
			Reason: "一区一策：按楼栋分布拆分，分别计算解封时间"})
		if err != nil {
			continue // parts that do not take every member whole: try the next zone
		}
		out.Split = z.id
		for _, p := range got {
			out.Parts = append(out.Parts, p.ID)
		}
		break
	}
	if err := publish(day(-5, 16), "发布风险区调整"); err != nil {
		return nil, err
	}

	// Day T0+5: lift a zone that had no infection since T0.
	lift, err := cleanZone(ctx, store, county, day(-6, 0), out)
	if err != nil {
		return nil, err
	}
	if lift != 0 {
		zn, err := zs.Get(ctx, lift)
		if err != nil {
			return nil, err
		}
		clock.set(day(-1, 15))
		if _, err := zs.AddScreening(ctx, as("demo.proposer", "第5天全员核酸筛查"), lift, zoning.NewScreening{
			RoundDate: zn.Current.EarliestLifting.String(), Tested: zn.Current.Population, Negatives: zn.Current.Population}); err != nil {
			return nil, fmt.Errorf("demo story: screening of zone %d: %w", lift, err)
		}
		clock.set(day(-1, 18))
		if _, err := zs.Lift(ctx, as("demo.proposer", "连续5天无新增感染者且第5天全员核酸阴性"), lift, zoning.LiftRequest{
			Reason: "连续5天无新增感染者且第5天全员核酸检测阴性，符合解除条件"}); err != nil {
			return nil, fmt.Errorf("demo story: lift zone %d: %w", lift, err)
		}
		out.Lifted = lift
		if err := publish(day(-1, 19), "发布解除通告"); err != nil {
			return nil, err
		}
	}

	// Today: fresh proposals for the panel.
	at := time.Now()
	if end := today.Add(20 * time.Hour); end.Before(at) {
		at = end
	}
	fresh, err := zoning.Propose(ctx, postgis.Proposals{S: store}, zoning.ProposeRequest{CountyID: county, At: at, Now: time.Now()},
		&proposerID)
	if err != nil {
		return nil, fmt.Errorf("demo story: propose today: %w", err)
	}
	out.FreshProposals = len(fresh.IDs)
	return out, nil
}

type storyClock struct{ t time.Time }

func (c *storyClock) now() time.Time  { return c.t }
func (c *storyClock) set(t time.Time) { c.t = t }

type zoneMembers struct {
	id        int64
	buildings []int64
}

// zonesByBuildings returns the given zones with at least two whole
// buildings, most buildings first (ties by id).
func zonesByBuildings(ctx context.Context, store *postgis.Store, ids []int64) ([]zoneMembers, error) {
	rows, err := store.Pool.Query(ctx, `SELECT v.zone_id, v.building_ids FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.id = ANY ($1::bigint[]) AND cardinality(v.building_ids) >= 2
		ORDER BY cardinality(v.building_ids) DESC, z.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("demo story: zones: %w", err)
	}
	defer rows.Close()
	var out []zoneMembers
	for rows.Next() {
		var z zoneMembers
		if err := rows.Scan(&z.id, &z.buildings); err != nil {
			return nil, fmt.Errorf("demo story: zones: %w", err)
		}
		slices.Sort(z.buildings)
		out = append(out, z)
	}
	return out, rows.Err()
}

// splitParts draws two parts of a zone: its bounding box cut at the widest
// gap between its buildings along the longer axis, so that no building
// straddles the cut. nil when the buildings leave no gap.
func splitParts(ctx context.Context, store *postgis.Store, zone int64) ([]json.RawMessage, error) {
	var minX, minY, maxX, maxY float64
	if err := store.Pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM zone_versions v
		JOIN zones z ON z.id = v.zone_id AND v.version = z.current_version WHERE z.id = $1`, zone).Scan(&minX, &minY, &maxX, &maxY); err != nil {
		return nil, fmt.Errorf("demo story: extent of zone %d: %w", zone, err)
	}
	alongX := maxX-minX >= maxY-minY
	rows, err := store.Pool.Query(ctx, `SELECT ST_XMin(b.geom), ST_XMax(b.geom), ST_YMin(b.geom), ST_YMax(b.geom)
		FROM zones z JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		JOIN buildings b ON b.id = ANY (v.building_ids) OR b.id IN (SELECT u.building_id FROM units u WHERE u.id = ANY (v.unit_ids))
		WHERE z.id = $1 ORDER BY b.id`, zone)
	if err != nil {
		return nil, fmt.Errorf("demo story: buildings of zone %d: %w", zone, err)
	}
	type span struct{ lo, hi float64 }
	var spans []span
	for rows.Next() {
		var x0, x1, y0, y1 float64
		if err := rows.Scan(&x0, &x1, &y0, &y1); err != nil {
			rows.Close()
			return nil, err
		}
		if alongX {
			spans = append(spans, span{x0, x1})
		} else {
			spans = append(spans, span{y0, y1})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	// The widest gap between the end of the buildings so far and the next start.
	best, cut, reach := 0.0, 0.0, -1e9
	for i, s := range spans {
		if i > 0 && s.lo-reach > best {
			best, cut = s.lo-reach, (s.lo+reach)/2
		}
		reach = max(reach, s.hi)
	}
	if best <= 0 {
		return nil, nil
	}
	pad := 0.001
	box := func(x0, y0, x1, y1 float64) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f]]]}`,
			x0, y0, x1, y0, x1, y1, x0, y1, x0, y0))
	}
	if alongX {
		return []json.RawMessage{box(minX-pad, minY-pad, cut, maxY+pad), box(cut, minY-pad, maxX+pad, maxY+pad)}, nil
	}
	return []json.RawMessage{box(minX-pad, minY-pad, maxX+pad, cut), box(minX-pad, cut, maxX+pad, maxY+pad)}, nil
}

// cleanZone picks an active zone, other than those the story changed, with
// no counted case reported after since in its buildings: it may be lifted
// five days on. 0 when there is none.
func cleanZone(ctx context.Context, store *postgis.Store, county int64, since time.Time, s *StorySummary) (int64, error) {
	skip := append([]int64{s.Adjusted, s.Split}, s.Parts...)
	var id int64
	err := store.Pool.QueryRow(ctx, `SELECT z.id FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.county_id = $1 AND z.status = 'active' AND NOT (z.id = ANY ($3::bigint[]))
		  AND NOT EXISTS (SELECT 1 FROM cases c
		                  LEFT JOIN units u ON u.id = c.residence_unit_id
		                  WHERE coalesce(c.residence_building_id, u.building_id) = ANY (v.building_ids || (SELECT coalesce(array_agg(x.building_id), '{}') FROM units x WHERE x.id = ANY (v.unit_ids)))
		                    AND c.report_date > $2::date)
		ORDER BY cardinality(v.building_ids), z.id
		LIMIT 1`, county, since, skip).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("demo story: a zone to lift: %w", err)
	}
	return id, nil
}
