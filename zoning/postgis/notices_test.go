package postgis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// storyEnv is the demo county after the demo story, with its users.
type storyEnv struct {
	t                       *testing.T
	s                       *postgis.Store
	sum                     *demo.Summary
	st                      *demo.StorySummary
	proposer, approver, pub zoning.User
	admin                   zoning.User
	zones                   postgis.Zones
	notices                 postgis.Notices
}

func newStoryEnv(t *testing.T) *storyEnv {
	t.Helper()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	sum, err := demo.Load(ctx, s, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := demo.TellStory(ctx, s, sum)
	if err != nil {
		t.Fatal(err)
	}
	e := &storyEnv{t: t, s: s, sum: sum, st: st, zones: postgis.Zones{S: s}, notices: postgis.Notices{S: s, BaseURL: "https://riskzone.example"}}
	for name, u := range map[string]*zoning.User{"demo.proposer": &e.proposer, "demo.approver": &e.approver, "demo.publisher": &e.pub} {
		if *u, err = s.UserByUsername(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	e.admin = mustUser(t, s, "root", zoning.RoleAdmin, "")
	return e
}

// adjust changes an active zone's members as the approver and returns the
// zone: it removes the last building of a multi-building zone, or (the
// bounded enlargement of issue 17 leaves the story few of those) adds the
// building nearest to a zone.
func (e *storyEnv) adjust(skip ...int64) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	var v int
	var b []int64
	var near *int64
	err := e.s.Pool.QueryRow(ctx, `SELECT z.id, z.current_version, v.building_ids,
			(SELECT o.id FROM buildings o WHERE o.county_id = z.county_id AND NOT (o.id = ANY (v.building_ids))
			   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = o.id AND u.id = ANY (v.unit_ids))
			 ORDER BY o.geom <-> v.geom, o.id LIMIT 1)
		FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.status = 'active' AND NOT (z.id = ANY ($1::bigint[]))
		ORDER BY cardinality(v.building_ids) < 2, z.id LIMIT 1`, skip).Scan(&id, &v, &b, &near)
	if err != nil {
		e.t.Fatal(err)
	}
	change := zoning.MemberChange{}
	switch {
	case len(b) >= 2:
		change.RemoveBuildings = b[len(b)-1:]
	case near != nil:
		change.AddBuildings = []int64{*near}
	default:
		e.t.Fatalf("zone %d: nothing to adjust", id)
	}
	if _, err := e.zones.EditMembers(ctx, as(e.approver), id, zoning.MembersEdit{Version: v, Reason: "test adjust", MemberChange: change}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// Publication on the demo story: versions marked, second person, chosen
// sets, test status, corrections, immutability, return to normal.
func TestPublish(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	county := e.sum.CountyID
	var unpublished int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM zone_versions WHERE published_notice_id IS NULL`).Scan(&unpublished); err != nil {
		t.Fatal(err)
	}
	if unpublished != 0 {
		t.Fatalf("%d versions left unpublished by the story", unpublished)
	}
	// Notice 2 changed the adjusted zone, the split parent and its parts.
	n2, err := e.notices.Get(ctx, e.st.Notices[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := map[int64]string{}
	for _, z := range n2.Zones {
		changed[z.ZoneID] = z.Status
	}
	if changed[e.st.Adjusted] != "active" || changed[e.st.Split] != "superseded" || changed[e.st.Parts[0]] != "active" || n2.Kind != zoning.NoticeSplit {
		t.Errorf("notice 2 (%s) zones %v", n2.Kind, changed)
	}
	// Nothing pending.
	if _, err := e.notices.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: county}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("publish with nothing pending: %v", err)
	}
	// The author of a change cannot publish it.
	a := e.adjust(e.st.Parts...)
	_, err = e.notices.Publish(ctx, as(e.approver), zoning.PublishRequest{CountyID: county})
	if !errors.Is(err, zoning.ErrForbidden) || !strings.Contains(zoning.Message(err), "another publisher") {
		t.Fatalf("the approver published his own change: %v", err)
	}
	var refused int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'notice.publish' AND outcome = 'refused' AND after->>'refused' LIKE '%another publisher%'`).Scan(&refused); err != nil || refused != 1 {
		t.Fatalf("refusal audited %d times (%v)", refused, err)
	}
	// A chosen set: two zones changed, one published.
	b := e.adjust(a)
	prev, err := e.notices.Preview(ctx, zoning.PublishRequest{CountyID: county})
	if err != nil || len(prev) != 1 || len(prev[0].Zones) != 2 || prev[0].CAPMsgType != "Update" {
		t.Fatalf("preview %+v %v", prev, err)
	}
	out, err := e.notices.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: county, ZoneIDs: []int64{a}, Status: zoning.NoticeTest})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Zones) != 1 || out[0].Zones[0].ZoneID != a || out[0].Status != "test" || out[0].Kind != zoning.NoticeAdjust {
		t.Fatalf("chosen publication %+v", out)
	}
	doc, _, err := e.notices.CAPXML(ctx, out[0].ID)
	if err != nil || !strings.Contains(doc, "<status>Test</status>") || !strings.Contains(doc, "<web>https://riskzone.example/notices/") {
		t.Fatalf("CAP of a test notice: %v\n%s", err, doc)
	}
	// A test notice rehearses: the public map and the pending changes stay
	// as they were, and the actual chain never references it.
	var public int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM zone_versions WHERE published_notice_id = $1`, out[0].ID).Scan(&public); err != nil || public != 0 {
		t.Fatalf("the test notice published %d versions (%v)", public, err)
	}
	var payload string
	if err := e.s.Pool.QueryRow(ctx, `SELECT string_agg(zone_id::text, ',') FROM notice_zones WHERE notice_id = $1`, out[0].ID).Scan(&payload); err != nil || payload != fmt.Sprint(a) {
		t.Fatalf("test notice zones %q (%v)", payload, err)
	}
	if body, err := (postgis.Outbox{S: e.s}).Payload(ctx, out[0].ID, ""); err != nil || bytes.Count(body, []byte(`"type":"Feature"`)) != 1 {
		t.Fatalf("webhook payload of the test notice: %s (%v)", body, err)
	}
	pending, err := e.notices.Pending(ctx, county)
	if err != nil || len(pending) != 1 || len(pending[0].Zones) != 2 {
		t.Fatalf("pending after a test notice: %+v %v", pending, err)
	}
	testID, testNotice := out[0].CAPIdentifier, out[0].ID
	out, err = e.notices.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: county, ZoneIDs: []int64{a}})
	if err != nil || len(out) != 1 || out[0].Status != "actual" {
		t.Fatalf("actual publication after the test: %+v %v", out, err)
	}
	doc, _, err = e.notices.CAPXML(ctx, out[0].ID)
	if err != nil || strings.Contains(doc, testID) || !strings.Contains(doc, "<status>Actual</status>") || !strings.Contains(doc, "<references>") {
		t.Fatalf("the actual CAP references the test message, or nothing: %v\n%s", err, doc)
	}
	tl, err := e.notices.Timeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.notices.Changes(ctx, time.Time{}, 1000)
	if err != nil || len(tl) == 0 || len(ch) == 0 {
		t.Fatalf("timeline %d, changes %d: %v", len(tl), len(ch), err)
	}
	for _, x := range tl {
		if x.NoticeID == testNotice {
			t.Fatal("the test notice is in the public timeline")
		}
	}
	for _, x := range ch {
		if x.NoticeID == testNotice {
			t.Fatal("the test notice is in the public changes")
		}
	}
	pending, err = e.notices.Pending(ctx, county)
	if err != nil || len(pending) != 1 || pending[0].Zones[0].ZoneID != b {
		t.Fatalf("still pending: %+v %v", pending, err)
	}
	// A correction references the old notice and repeats the situation.
	cor := correct(t, e.notices, e.pub, e.admin, e.st.Notices[0], zoning.CorrectionRequest{Note: "第1号通告的生效时间更正为18时。"})
	if cor.Kind != zoning.NoticeCorrection || cor.References == nil || *cor.References != e.st.Notices[0] || cor.CAPMsgType != "Update" ||
		!strings.Contains(cor.BodyZh, "对第1号通告作如下更正") {
		t.Fatalf("correction %+v", cor)
	}
	// Published notices never change.
	if _, err := e.s.Pool.Exec(ctx, `UPDATE notices SET title_zh = 'x' WHERE id = $1`, e.st.Notices[0]); err == nil {
		t.Fatal("a notice was updated")
	}
	// Lifting every zone returns the county to normal: a Cancel of kind normalize.
	if _, err := e.notices.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: county}); err != nil {
		t.Fatal(err)
	}
	rows, err := e.s.Pool.Query(ctx, `SELECT id FROM zones WHERE county_id = $1 AND status = 'active' ORDER BY id`, county)
	if err != nil {
		t.Fatal(err)
	}
	var active []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		active = append(active, id)
	}
	rows.Close()
	for _, id := range active {
		if _, err := e.zones.Lift(ctx, as(e.admin), id, zoning.LiftRequest{Reason: "test: lift everything by override", Override: true}); err != nil {
			t.Fatalf("lift %d: %v", id, err)
		}
	}
	out, err = e.notices.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: county})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Kind != zoning.NoticeNormalize || out[0].CAPMsgType != "Cancel" || !strings.Contains(out[0].BodyZh, "全域恢复常态化防控") {
		t.Fatalf("return to normal %+v", out)
	}
	counties, err := e.notices.PublicCounties(ctx, county)
	if err != nil || len(counties) != 1 || counties[0].Zoned {
		t.Fatalf("county after the return to normal %+v %v", counties, err)
	}
	for _, n := range []int64{e.st.Notices[0], out[0].ID} {
		nt, _ := e.notices.Get(ctx, n)
		if strings.Contains(nt.BodyZh+nt.BodyEn, "case") {
			t.Errorf("notice %d mentions cases", n)
		}
	}
}

// The outbox: concurrent claims never share a row (FOR UPDATE SKIP
// LOCKED); an expired lease is rescued; a finish with a lost lease is
// ignored.
func TestOutboxClaims(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	ob := postgis.Outbox{S: e.s}
	if _, err := e.s.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Pool.Exec(ctx, `INSERT INTO subscribers (name, url, secret) SELECT 'a' || i, 'http://127.0.0.1:9/' || i, 'secret-secret-secret'
		FROM generate_series(1, 60) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Pool.Exec(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key)
		SELECT $1, id, gen_random_uuid() FROM subscribers WHERE name LIKE 'a%'`, e.st.Notices[0]); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := ob.Claim(ctx, 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					got[d.OutboxID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 60 {
		t.Fatalf("claimed %d rows, want 60", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("row %d claimed %d times", id, n)
		}
	}
	// Nothing is due while the leases hold; expire one.
	if ds, _ := ob.Claim(ctx, 100, time.Minute); len(ds) != 0 {
		t.Fatalf("claimed %d leased rows", len(ds))
	}
	var victim int64
	for id := range got {
		victim = id
		break
	}
	if _, err := e.s.Pool.Exec(ctx, `UPDATE outbox SET locked_until = now() - interval '1 second' WHERE id = $1`, victim); err != nil {
		t.Fatal(err)
	}
	ds, err := ob.Claim(ctx, 100, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].OutboxID != victim || ds[0].Attempt != 2 {
		t.Fatalf("rescue %+v %v", ds, err)
	}
	held, err := ob.Finish(ctx, postgis.Delivery{OutboxID: victim, Attempt: 1}, postgis.Outcome{Started: time.Now(), State: "delivered"})
	if err != nil || held {
		t.Fatalf("a stale attempt finished the row: %v %v", held, err)
	}
	held, err = ob.Finish(ctx, ds[0], postgis.Outcome{Started: time.Now(), StatusCode: 204, State: "delivered"})
	if err != nil || !held {
		t.Fatalf("finish %v %v", held, err)
	}
}
