package postgis_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The 2022-06 rule set end to end on a county: assigned by an admin (the
// answer is what was written), three levels (a medium zone is designated
// beside a high one, shows as medium on the public side and in the notice's
// numbered sections with counts), and 7 clean days (earliest lifting L+7,
// the screening round on L+7 is the one that counts).
func TestRuleSet202206EndToEnd(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	if _, err := e.z.SetCountyRuleSet(ctx, as(e.alice), e.county, zoning.RuleSetAssignment{RuleSetID: "2022-06", Reason: "第九版"}); !errors.Is(err, zoning.ErrForbidden) {
		t.Fatalf("an expert assigns a rule set: %v", err)
	}
	got, err := e.z.SetCountyRuleSet(ctx, as(e.root), e.county, zoning.RuleSetAssignment{RuleSetID: "2022-06", Reason: "省指挥部通知：执行第九版方案"})
	if err != nil || got.RuleSet.ID != "2022-06" || got.Previous != "2022-11" || got.RuleSet.CleanDays != 7 || len(got.RuleSet.Levels) != 3 {
		t.Fatalf("assign 2022-06: %+v %v", got, err)
	}

	high := e.buildingZone(0, 0) // cases reported 2022-11-20, designated 2022-11-21
	// A medium zone: cases in both units of building (5, 5), the proposal
	// approved at level medium.
	b := e.at(5, 5)
	e.addCase(b, 1, "2022-11-20")
	e.addCase(b, 2, "2022-11-20")
	var medium zoning.Zone
	for _, id := range e.proposeBy(e.alice, "2022-11-20") {
		p, err := e.z.Proposal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(p.BuildingIDs, b) {
			continue
		}
		if _, err := e.z.Approve(ctx, as(e.bob), id, zoning.ApproveRequest{Reason: "中风险", Level: "low"}); !errors.Is(err, zoning.ErrInvalid) {
			t.Fatalf("approve at level low: %v", err)
		}
		if medium, err = e.z.Approve(ctx, as(e.bob), id, zoning.ApproveRequest{Reason: "专家组研判：划为中风险区", Level: "medium"}); err != nil {
			t.Fatal(err)
		}
	}
	if medium.ID == 0 || medium.Current.Level != "medium" || medium.Current.RuleSetID != "2022-06" || high.Current.RuleSetID != "2022-06" ||
		high.Current.Level != "high" {
		t.Fatalf("zones: high %+v, medium %+v", high.Current, medium.Current)
	}
	L := medium.Current.ClockStart
	if medium.Current.EarliestLifting != L.AddDays(7) {
		t.Fatalf("earliest lifting %s, want L %s + 7", medium.Current.EarliestLifting, L)
	}

	// Published: the notice has one numbered section per level with counts.
	pub := mustUser(t, e.s, "pub", zoning.RolePublisher, "")
	ns := postgis.Notices{S: e.s, Now: e.clk.Now}
	e.clk.Set("2022-11-21T08:00:00Z")
	nts, err := ns.Publish(ctx, as(pub), zoning.PublishRequest{CountyID: e.county, Reason: "发布"})
	if err != nil || len(nts) != 1 {
		t.Fatalf("publish: %v %v", nts, err)
	}
	for _, w := range []string{"一、高风险区（1个）", "二、中风险区（1个）", "三、低风险区", "除高风险区、中风险区以外的其他区域为低风险区", "中风险区：管控，人不出区、严禁聚集"} {
		if !strings.Contains(nts[0].BodyZh, w) {
			t.Errorf("notice zh lacks %q:\n%s", w, nts[0].BodyZh)
		}
	}
	for _, w := range []string{"1. High-risk zone (1)", "2. Medium-risk zone (1)", "3. Low-risk zone", "outside the high-risk zones and medium-risk zones"} {
		if !strings.Contains(nts[0].BodyEn, w) {
			t.Errorf("notice en lacks %q:\n%s", w, nts[0].BodyEn)
		}
	}
	zs, err := ns.PublicZones(ctx, e.county, 0)
	if err != nil || len(zs) != 2 {
		t.Fatalf("public zones %+v %v", zs, err)
	}
	for _, z := range zs {
		want := map[int64]string{high.ID: "high", medium.ID: "medium"}[z.ZoneID]
		if z.Level != want || z.EarliestLifting != L.AddDays(7) {
			t.Errorf("public zone %d: level %s (want %s), earliest lifting %s", z.ZoneID, z.Level, want, z.EarliestLifting)
		}
	}
	cs, err := ns.PublicCounties(ctx, e.county)
	if err != nil || len(cs) != 1 || len(cs[0].Levels) != 2 || cs[0].Levels[1].Level != "medium" || cs[0].Levels[1].Zones != 1 || cs[0].Levels[0].Zones != 1 {
		t.Fatalf("public county %+v %v", cs, err)
	}

	// Lifting: 7 clean days. On L+5 (the 2022-11 day N) it is too early,
	// whatever the screening; on L+7 the round of that day counts.
	e.clk.Set(L.AddDays(5).Time.Add(2 * time.Hour).Format("2006-01-02T15:04:05Z")) // 10:00 China on L+5
	if _, err := e.z.AddScreening(ctx, as(e.bob), medium.ID, zoning.NewScreening{RoundDate: L.AddDays(5).String(), Tested: 40, Negatives: 40}); err != nil {
		t.Fatal(err)
	}
	ls, err := e.z.Lifting(ctx, medium.ID)
	if err != nil || ls.Eligible || ls.CleanDays != 7 || ls.EarliestLifting != L.AddDays(7) {
		t.Fatalf("lifting on L+5: %+v %v", ls, err)
	}
	if _, err := e.z.Lift(ctx, as(e.alice), medium.ID, zoning.LiftRequest{Reason: "five days"}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("lift on L+5: %v", err)
	}
	e.clk.Set(L.AddDays(7).Time.Add(2 * time.Hour).Format("2006-01-02T15:04:05Z"))
	if ls, err := e.z.Lifting(ctx, medium.ID); err != nil || ls.Eligible {
		t.Fatalf("lifting on L+7 without its round: %+v %v", ls, err)
	}
	if _, err := e.z.AddScreening(ctx, as(e.bob), medium.ID, zoning.NewScreening{RoundDate: L.AddDays(7).String(), Tested: 40, Negatives: 40}); err != nil {
		t.Fatal(err)
	}
	if ls, err = e.z.Lifting(ctx, medium.ID); err != nil || !ls.Eligible || ls.CleanStreakDays != 7 {
		t.Fatalf("lifting on L+7 with its round: %+v %v", ls, err)
	}
	lifted, err := e.z.Lift(ctx, as(e.alice), medium.ID, zoning.LiftRequest{Reason: "7 clean days, all negative on day 7"})
	if err != nil || lifted.Status != zoning.ZoneLifted || lifted.Current.Change != zoning.ChangeLift {
		t.Fatalf("lift on L+7: %+v %v", lifted, err)
	}
	// Back to the November rules is allowed again only once no zone has a
	// level they lack: the high zone is fine, the lifted medium one no
	// longer counts once its lift is published.
	if _, err := e.z.SetCountyRuleSet(ctx, as(e.root), e.county, zoning.RuleSetAssignment{RuleSetID: "2022-11", Reason: "回到十一月方案"}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("back to 2022-11 while the medium zone is still public: %v", err)
	}
	if _, err := ns.Publish(ctx, as(pub), zoning.PublishRequest{CountyID: e.county, Reason: "解除"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.z.SetCountyRuleSet(ctx, as(e.root), e.county, zoning.RuleSetAssignment{RuleSetID: "2022-11", Reason: "回到十一月方案"}); err != nil ||
		got.RuleSet.ID != "2022-11" || got.Previous != "2022-06" {
		t.Fatalf("back to 2022-11: %+v %v", got, err)
	}
}
