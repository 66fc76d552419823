package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

type stepAnswer struct {
	Proposals []struct {
		ID            int64   `json:"id"`
		Status        string  `json:"status"`
		Supersedes    *int64  `json:"supersedes"`
		BuildingIDs   []int64 `json:"building_ids"`
		UnitIDs       []int64 `json:"unit_ids"`
		Population    int     `json:"population"`
		RationaleText struct {
			Zh []string `json:"zh"`
			En []string `json:"en"`
		} `json:"rationale_text"`
		Rationale struct {
			Rules        []string `json:"rules"`
			Enlargements []struct {
				Level    string `json:"level"`
				ByExpert bool   `json:"by_expert"`
			} `json:"enlargements"`
		} `json:"rationale"`
	} `json:"proposals"`
	Superseded int64 `json:"superseded"`
}

// Enlarge and shrink one level through the API: a case of unknown source in
// a building of a compound is enlarged to the compound; above it the county
// has no closed block (its only block is the county outline), so "enlarge"
// is refused; "shrink" steps to the nearby buildings, then to the case
// building, then is refused. Each step makes a new proposal that supersedes
// the old one; decided proposals cannot be changed; only experts may step;
// a refusal changes nothing.
func TestProposalEnlargeShrinkAPI(t *testing.T) {
	e := newZoneAPI(t)
	ctx := context.Background()
	if _, err := e.store.Pool.Exec(ctx, `INSERT INTO compounds (name, geom) VALUES ('幸福家园小区',
		ST_Multi(ST_MakeEnvelope(117.0009, 36.6499, 117.0025, 36.6502, 4326)))`); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	e.call(e.alice, "POST", "/api/v1/cases", map[string]any{"case_no": "U1", "county_id": 1, "kind": "confirmed", "source_known": false,
		"report_date": today, "residence": map[string]any{"unit_id": 12}}, nil).expect(t, http.StatusCreated, "case")
	ids := e.proposals()
	if len(ids) != 1 {
		t.Fatalf("proposals %v, want one", ids)
	}
	first := ids[0]
	level := func(a stepAnswer) string {
		t.Helper()
		if len(a.Proposals) != 1 || len(a.Proposals[0].Rationale.Enlargements) != 1 {
			t.Fatalf("answer %+v: want one proposal with one enlargement", a)
		}
		return a.Proposals[0].Rationale.Enlargements[0].Level
	}
	var got stepAnswer
	var one struct {
		Status        string  `json:"status"`
		SupersededBy  []int64 `json:"superseded_by"`
		RationaleText struct {
			Zh []string `json:"zh"`
			En []string `json:"en"`
		} `json:"rationale_text"`
	}
	e.call(e.alice, "GET", fmt.Sprintf("/api/v1/proposals/%d", first), nil, nil).expect(t, http.StatusOK, "get").decode(t, &one)
	if zh := strings.Join(one.RationaleText.Zh, ""); !strings.Contains(zh, "按小区扩大") || !strings.Contains(strings.Join(one.RationaleText.En, ""), "enlarged to the compound") {
		t.Fatalf("rationale text %+v: want the compound level in words", one.RationaleText)
	}
	proposals := func() int { return e.count("proposals") }
	before := proposals()
	path := func(id int64, what string) string { return fmt.Sprintf("/api/v1/proposals/%d/%s", id, what) }

	// Who may step, and bad ids.
	e.do(request{method: "POST", path: path(first, "enlarge")}).expectError(t, http.StatusUnauthorized, "", "anonymous")
	e.call(e.pub, "POST", path(first, "shrink"), nil, nil).expectError(t, http.StatusForbidden, "role expert", "publisher")
	e.call(e.alice, "POST", "/api/v1/proposals/abc/shrink", nil, nil).expectError(t, http.StatusBadRequest, "positive integer", "bad id")
	e.call(e.alice, "POST", path(999999, "shrink"), nil, nil).expectError(t, http.StatusNotFound, "not found", "unknown proposal")
	// No closed block above the compound: refused, audited, nothing changed.
	e.call(e.alice, "POST", path(first, "enlarge"), nil, nil).expectError(t, http.StatusConflict, "no level above", "enlarge at the top")
	if n := proposals(); n != before {
		t.Fatalf("a refused enlarge made %d proposals", n-before)
	}
	if n := e.auditCount("proposal.enlarge", "refused"); n != 1 {
		t.Fatalf("%d audited enlarge refusals, want 1", n)
	}

	// Shrink: the nearby buildings, superseding the first proposal.
	e.call(e.alice, "POST", path(first, "shrink"), map[string]any{"reason": "the compound is too much"}, nil).expect(t, http.StatusOK, "shrink").decode(t, &got)
	if l := level(got); l != "nearby" || got.Superseded != first || got.Proposals[0].Supersedes == nil || *got.Proposals[0].Supersedes != first ||
		got.Proposals[0].Status != "proposed" || !got.Proposals[0].Rationale.Enlargements[0].ByExpert {
		t.Fatalf("shrink answered %+v", got)
	}
	if !slices.Contains(got.Proposals[0].Rationale.Rules, "case_of_unknown_source") || !strings.Contains(strings.Join(got.Proposals[0].RationaleText.Zh, ""), "由专家调整") {
		t.Fatalf("stepped rationale %+v", got.Proposals[0])
	}
	nearby := got.Proposals[0].ID
	e.call(e.alice, "GET", fmt.Sprintf("/api/v1/proposals/%d", first), nil, nil).expect(t, http.StatusOK, "get old").decode(t, &one)
	if one.Status != "superseded" || !slices.Equal(one.SupersededBy, []int64{nearby}) {
		t.Fatalf("old proposal %+v: want superseded by %d", one, nearby)
	}
	e.call(e.alice, "POST", path(first, "enlarge"), nil, nil).expectError(t, http.StatusConflict, "already superseded", "step a superseded proposal")
	if n := e.auditCount("proposal.shrink", "ok"); n != 1 {
		t.Fatalf("%d audited shrinks, want 1", n)
	}

	// Shrink again: the case's unit alone (as seeded; the building level
	// never promotes a unit to its building); then nothing is below.
	e.call(e.bob, "POST", path(nearby, "shrink"), nil, nil).expect(t, http.StatusOK, "shrink to the building").decode(t, &got)
	if l := level(got); l != "building" || len(got.Proposals[0].BuildingIDs) != 0 || !slices.Equal(got.Proposals[0].UnitIDs, []int64{12}) || got.Proposals[0].Population != 20 {
		t.Fatalf("shrink to the building answered %+v", got)
	}
	bottom := got.Proposals[0].ID
	n := proposals()
	e.call(e.alice, "POST", path(bottom, "shrink"), nil, nil).expectError(t, http.StatusConflict, "no level below", "shrink at the bottom")
	if proposals() != n {
		t.Fatal("a refused shrink made a proposal")
	}
	// Enlarge from the building goes back up to the nearby buildings.
	e.call(e.alice, "POST", path(bottom, "enlarge"), nil, nil).expect(t, http.StatusOK, "enlarge").decode(t, &got)
	if l := level(got); l != "nearby" {
		t.Fatalf("enlarge from the building: %s", l)
	}
	// A decided proposal cannot be changed.
	last := got.Proposals[0].ID
	e.call(e.bob, "POST", path(last, "approve"), map[string]any{"reason": "designate"}, nil).expect(t, http.StatusCreated, "approve")
	e.call(e.alice, "POST", path(last, "shrink"), nil, nil).expectError(t, http.StatusConflict, "already accepted", "shrink an approved proposal")
	e.call(e.alice, "GET", fmt.Sprintf("/api/v1/proposals/%d", last), nil, nil).expect(t, http.StatusOK, "get approved").decode(t, &one)
	if one.Status != "accepted" {
		t.Fatalf("approved proposal is %s after a refused shrink", one.Status)
	}
}
