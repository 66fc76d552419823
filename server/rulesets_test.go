package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// Rule sets per county through the API: staff list them, admins assign one
// with a reason (audited, answered as written), bad requests change
// nothing, and an assignment that would orphan the level of active zones is
// refused with 409 (audited as refused).
func TestRuleSetAssignmentAPI(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	county := e.sum.CountyID
	admin, expert := e.apiToken("rs-admin", zoning.RoleAdmin), e.apiToken("rs-expert", zoning.RoleExpert)
	path := fmt.Sprintf("/api/v1/counties/%d/rule-set", county)

	var list struct {
		RuleSets []zoning.RuleSetInfo `json:"rule_sets"`
	}
	e.do(request{method: "GET", path: "/api/v1/rule-sets", bearer: expert}).expect(t, http.StatusOK, "list rule sets").decode(t, &list)
	byID := map[string]zoning.RuleSetInfo{}
	for _, r := range list.RuleSets {
		byID[r.ID] = r
	}
	if r := byID["2022-11"]; !r.Default || len(r.Counties) != 1 || r.Counties[0] != county || r.CleanDays != 5 ||
		r.QuarantineRoomsPer10k != 20 || r.QuarantineRoomsPerStaff != 10 || r.ClosedLoop != zoning.DefaultClosedLoopLimits {
		t.Fatalf("2022-11 listed as %+v", r)
	}
	if r := byID["2022-06"]; r.Default || len(r.Levels) != 3 || r.CleanDays != 7 || len(r.Counties) != 0 {
		t.Fatalf("2022-06 listed as %+v", r)
	}

	ruleSetOf := func() *string {
		var id *string
		if err := e.store.Pool.QueryRow(ctx, `SELECT rule_set_id FROM admin_areas WHERE id = $1`, county).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	audits := func(outcome string) int {
		var n int
		if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'county.rule_set' AND outcome = $1`, outcome).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Refused and bad requests: nothing changes.
	e.do(request{method: "PUT", path: path, bearer: expert, json: map[string]string{"rule_set_id": "2022-06", "reason": "x"}}).
		expectError(t, http.StatusForbidden, "", "an expert assigns")
	e.do(request{method: "PUT", path: path, bearer: admin, json: map[string]string{"rule_set_id": "2022-06"}}).
		expectError(t, http.StatusBadRequest, "reason is required", "no reason")
	e.do(request{method: "PUT", path: path, bearer: admin, json: map[string]string{"rule_set_id": "1999-01", "reason": "try"}}).
		expectError(t, http.StatusBadRequest, `no rule set "1999-01"`, "unknown rule set")
	e.do(request{method: "PUT", path: path, bearer: admin, json: `{"rule_set_id": "2022-06", "reason": "x", "extra": 1}`}).
		expect(t, http.StatusBadRequest, "unknown field")
	e.do(request{method: "PUT", path: "/api/v1/counties/999999/rule-set", bearer: admin, json: map[string]string{"rule_set_id": "2022-06", "reason": "x"}}).
		expectError(t, http.StatusNotFound, "county 999999 not found", "unknown county")
	if id := ruleSetOf(); id != nil || audits("ok") != 0 {
		t.Fatalf("refused requests changed the county: rule set %v, %d audits", id, audits("ok"))
	}

	// The assignment, answered as written and audited.
	var got zoning.CountyRuleSet
	e.do(request{method: "PUT", path: path, bearer: admin, json: map[string]string{"rule_set_id": "2022-06", "reason": "省指挥部通知：执行第九版方案"}}).
		expect(t, http.StatusOK, "assign 2022-06").decode(t, &got)
	if got.CountyID != county || got.RuleSet.ID != "2022-06" || got.Previous != "2022-11" || got.RuleSet.CleanDays != 7 || len(got.RuleSet.Levels) != 3 {
		t.Fatalf("assignment answered %+v", got)
	}
	if id := ruleSetOf(); id == nil || *id != "2022-06" {
		t.Fatalf("county rule set %v after the assignment", id)
	}
	var actor, reason, before, after string
	if err := e.store.Pool.QueryRow(ctx, `SELECT actor, reason, before::text, after::text FROM audit_log
		WHERE action = 'county.rule_set' AND outcome = 'ok' AND entity_id = $1`, fmt.Sprint(county)).Scan(&actor, &reason, &before, &after); err != nil ||
		actor != "rs-admin" || reason != "省指挥部通知：执行第九版方案" || before != `{"inherited": true, "rule_set_id": "2022-11"}` || after != `{"rule_set_id": "2022-06"}` {
		t.Fatalf("audit: %s %q %s %s %v", actor, reason, before, after, err)
	}

	// A medium zone under 2022-06 (a fresh proposal approved at level
	// medium); then going back to 2022-11, which has no medium level, is
	// refused.
	var proposals []int64
	rows, err := e.store.Pool.Query(ctx, `SELECT id FROM proposals WHERE county_id = $1 AND status = 'proposed' ORDER BY id`, county)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		proposals = append(proposals, id)
	}
	rows.Close()
	if len(proposals) == 0 {
		t.Fatal("the demo story left no proposal for the panel")
	}
	e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/approve", proposals[0]), bearer: admin,
		json: map[string]string{"reason": "中风险", "level": "low"}}).expectError(t, http.StatusBadRequest, "is one of high, medium", "a low zone")
	medium := int64(0)
	for _, id := range proposals {
		res := e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/approve", id), bearer: admin,
			json: map[string]string{"reason": "专家组研判：划为中风险区", "level": "medium"}})
		if res.StatusCode == http.StatusCreated {
			var z zoning.Zone
			res.decode(t, &z)
			if z.Current.Level != "medium" || z.Current.RuleSetID != "2022-06" {
				t.Fatalf("medium zone %+v", z.Current)
			}
			medium = z.ID
			break
		}
	}
	if medium == 0 {
		t.Fatal("no fresh proposal could be approved as a medium zone")
	}
	e.do(request{method: "PUT", path: path, bearer: admin, json: map[string]string{"rule_set_id": "2022-11", "reason": "back to the November rules"}}).
		expectError(t, http.StatusConflict, "active zones of level medium, which rule set 2022-11 does not have", "orphaned medium zone")
	if id := ruleSetOf(); id == nil || *id != "2022-06" || audits("refused") != 1 {
		t.Fatalf("the refused assignment: rule set %v, %d refusals audited", id, audits("refused"))
	}
}
