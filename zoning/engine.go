package zoning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// County is a county as the engine sees it.
type County struct {
	ID        int64
	Name      string
	Authority string
	RuleSet   RuleSet
}

// AssembledDraft is a draft zone as the store assembles it, with the indexes
// of the parts it was made of.
type AssembledDraft struct {
	Draft
	Parts []int
}

// ProposalSource is what the engine needs from the store.
type ProposalSource interface {
	// County returns the county with its rule set, or ErrNotFound.
	County(ctx context.Context, id int64) (County, error)
	// ProposalInputs returns the county's cases reported on or before day,
	// and the traces of those cases.
	ProposalInputs(ctx context.Context, countyID int64, day time.Time) ([]CaseInput, []TraceInput, error)
	// ClusterLevels measures, per spread cluster id, each enlargement level
	// (compounds, fine and coarse barrier blocks holding the cluster's
	// residence buildings, and the nearby buildings of the bounded fallback
	// within bounds.FallbackDistanceM), building the block caches when
	// missing or stale.
	ClusterLevels(ctx context.Context, countyID int64, p ProposeParams, bounds EnlargementBounds, clusters []Cluster) (map[int]ClusterLevels, error)
	// AssembleDrafts merges the parts into drafts with members and metrics,
	// and returns the county's low-risk remainder as GeoJSON.
	AssembleDrafts(ctx context.Context, county County, p ProposeParams, parts []ZonePart) ([]AssembledDraft, json.RawMessage, error)
	// SaveProposal stores the run and its drafts (status proposed), filling
	// RunID and IDs.
	SaveProposal(ctx context.Context, p *Proposal, snapshot InputSnapshot, actor *int64) error
}

// InputSnapshot records what a run saw, so it can be explained later.
type InputSnapshot struct {
	CountedCases []SnapshotCase `json:"counted_cases"`
	TraceCount   int            `json:"trace_count"`
	WindowFrom   string         `json:"window_from"`
	WindowTo     string         `json:"window_to"`
	Seeds        SnapshotSeeds  `json:"seeds"`
}

// SnapshotCase is a counted case in a snapshot (restricted data).
type SnapshotCase struct {
	ID         int64  `json:"id"`
	ReportDate string `json:"report_date"`
	BuildingID int64  `json:"building_id"`
	UnitID     int64  `json:"unit_id,omitempty"`
}

// SnapshotSeeds are the seeds of a run.
type SnapshotSeeds struct {
	UnitSeeds      map[string][]int64  `json:"unit_seeds"`
	BuildingSeeds  map[string][]string `json:"building_seeds"`
	PlaceBuildings map[string][]int64  `json:"place_buildings"`
}

// Propose runs the proposal engine (SPEC §3) for a county at a time and
// stores the result as proposals with status proposed.
func Propose(ctx context.Context, src ProposalSource, req ProposeRequest, actor *int64) (Proposal, error) {
	req.Params = req.Params.WithDefaults()
	if err := req.Validate(); err != nil {
		return Proposal{}, err
	}
	county, err := src.County(ctx, req.CountyID)
	if err != nil {
		return Proposal{}, err
	}
	day := ProposalDay(req.At)
	cases, traces, err := src.ProposalInputs(ctx, county.ID, day)
	if err != nil {
		return Proposal{}, fmt.Errorf("read cases of county %d: %w", county.ID, err)
	}
	seeds := SelectSeeds(req.At, req.Params, cases, traces)
	bounds := county.RuleSet.Enlargement.WithDefaults()
	levels, err := src.ClusterLevels(ctx, county.ID, req.Params, bounds, seeds.Clusters)
	if err != nil {
		return Proposal{}, fmt.Errorf("enlargement levels of county %d: %w", county.ID, err)
	}
	enl := map[int]Enlargement{}
	for _, cl := range seeds.Clusters {
		if cl.Spread {
			e := ChooseLevel(cl.ID, levels[cl.ID], bounds)
			e.SeedBuildingIDs = cl.BuildingIDs
			for _, b := range cl.BuildingIDs {
				if _, whole := seeds.BuildingSeeds[b]; whole {
					e.SeedWholeIDs = append(e.SeedWholeIDs, b)
				}
				e.SeedUnitIDs = append(e.SeedUnitIDs, seeds.UnitSeeds[b]...)
			}
			e.Rules = cl.Why
			enl[cl.ID] = e
		}
	}
	parts := seeds.Parts(enl, levels)
	var assembled []AssembledDraft
	var lowRisk json.RawMessage
	if len(parts) > 0 {
		assembled, lowRisk, err = src.AssembleDrafts(ctx, county, req.Params, parts)
		if err != nil {
			return Proposal{}, fmt.Errorf("assemble drafts: %w", err)
		}
	}
	p := Proposal{
		CountyID:  county.ID,
		At:        req.At.UTC(),
		RuleSetID: county.RuleSet.ID,
		Params:    req.Params,
		Ignored:   seeds.Ignored,
		Clusters:  seeds.Clusters,
		LowRisk:   lowRisk,
	}
	idx := newCaseIndex(seeds, traces)
	for i, a := range assembled {
		d := a.Draft
		d.Level = county.RuleSet.DefaultLevel
		d.StaffRequired = county.RuleSet.StaffRequired(d.Population + d.Workers)
		d.Rationale = explain(seeds, parts, a, idx, enl)
		d.Key = draftKey(d)
		d.Name = fmt.Sprintf("%s-P%d", county.Name, i+1)
		p.Drafts = append(p.Drafts, d)
	}
	snap := snapshot(seeds, len(traces), day, req.Params.WindowDays)
	if err := src.SaveProposal(ctx, &p, snap, actor); err != nil {
		return Proposal{}, fmt.Errorf("save proposal: %w", err)
	}
	return p, nil
}

// caseIndex finds the counted cases of a draft's members without scanning
// every case for every draft.
type caseIndex struct {
	byBuilding map[int64][]int64 // residence building -> case ids
	byUnit     map[int64][]int64 // residence unit -> case ids
	visitors   map[int64][]int64 // high-risk place building -> visiting counted case ids
}

func newCaseIndex(s Seeds, traces []TraceInput) caseIndex {
	idx := caseIndex{byBuilding: map[int64][]int64{}, byUnit: map[int64][]int64{}, visitors: map[int64][]int64{}}
	counted := map[int64]bool{}
	for _, c := range s.Counted {
		counted[c.ID] = true
		idx.byBuilding[c.BuildingID] = append(idx.byBuilding[c.BuildingID], c.ID)
		if c.UnitID != 0 {
			idx.byUnit[c.UnitID] = append(idx.byUnit[c.UnitID], c.ID)
		}
	}
	for _, t := range traces {
		if counted[t.CaseID] && t.BuildingID != 0 && len(s.PlaceBuildings[t.BuildingID]) > 0 {
			idx.visitors[t.BuildingID] = append(idx.visitors[t.BuildingID], t.CaseID)
		}
	}
	return idx
}

// explain builds the rationale of an assembled draft from its parts.
func explain(s Seeds, parts []ZonePart, a AssembledDraft, idx caseIndex, enl map[int]Enlargement) Rationale {
	r := Rationale{BoundaryOnBarriers: a.Rationale.BoundaryOnBarriers}
	for _, i := range slices.Sorted(slices.Values(a.Parts)) {
		part := parts[i]
		r.Parts = append(r.Parts, part)
		r.Rules = append(r.Rules, part.Rules...)
		if part.ClusterID != 0 {
			// The case buildings alone are no enlargement.
			r.Enlarged = r.Enlarged || part.Level != LevelBuilding
			r.ClusterIDs = append(r.ClusterIDs, part.ClusterID)
			if e, ok := enl[part.ClusterID]; ok && !slices.ContainsFunc(r.Enlargements, func(x Enlargement) bool { return x.ClusterID == e.ClusterID }) {
				r.Enlargements = append(r.Enlargements, e)
			}
		}
		for _, b := range part.BuildingIDs {
			r.PlaceIDs = append(r.PlaceIDs, s.PlaceBuildings[b]...)
		}
	}
	for _, b := range a.BuildingIDs {
		r.CaseIDs = append(r.CaseIDs, idx.byBuilding[b]...)
		r.CaseIDs = append(r.CaseIDs, idx.visitors[b]...)
	}
	for _, u := range a.UnitIDs {
		r.CaseIDs = append(r.CaseIDs, idx.byUnit[u]...)
	}
	slices.Sort(r.CaseIDs)
	r.CaseIDs = slices.Compact(r.CaseIDs)
	slices.Sort(r.Rules)
	r.Rules = slices.Compact(r.Rules)
	slices.Sort(r.ClusterIDs)
	r.ClusterIDs = slices.Compact(r.ClusterIDs)
	slices.Sort(r.PlaceIDs)
	r.PlaceIDs = slices.Compact(r.PlaceIDs)
	if r.CaseIDs == nil {
		r.CaseIDs = []int64{}
	}
	Describe(&r, len(a.BuildingIDs), len(a.UnitIDs))
	return r
}

// Describe fills the structured reasons (a summary with the numbers of the
// zone, then each rule with its numbers) and the sentences of a rationale.
func Describe(r *Rationale, buildings, units int) {
	r.Reasons = []Reason{{Rule: "summary", Code: "summary", Numbers: map[string]int{
		"cases": len(r.CaseIDs), "buildings": buildings, "units": units, "places": len(r.PlaceIDs)}}}
	for _, rule := range r.Rules {
		r.Reasons = append(r.Reasons, ParseRule(rule))
	}
	text := RenderRationale(*r)
	r.Text = &text
}

// draftKey identifies a draft by its members, so the same input gives the
// same keys.
func draftKey(d Draft) string {
	h := sha256.New()
	for _, b := range d.BuildingIDs {
		h.Write([]byte("b" + strconv.FormatInt(b, 10) + ","))
	}
	for _, u := range d.UnitIDs {
		h.Write([]byte("u" + strconv.FormatInt(u, 10) + ","))
	}
	h.Write(d.GeoJSON)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func snapshot(s Seeds, traceCount int, day time.Time, window int) InputSnapshot {
	snap := InputSnapshot{
		TraceCount: traceCount,
		WindowFrom: day.AddDate(0, 0, -window+1).Format(time.DateOnly),
		WindowTo:   day.Format(time.DateOnly),
		Seeds: SnapshotSeeds{
			UnitSeeds:      map[string][]int64{},
			BuildingSeeds:  map[string][]string{},
			PlaceBuildings: map[string][]int64{},
		},
	}
	for _, c := range s.Counted {
		snap.CountedCases = append(snap.CountedCases, SnapshotCase{ID: c.ID, ReportDate: c.ReportDate.Format(time.DateOnly), BuildingID: c.BuildingID, UnitID: c.UnitID})
	}
	for b, us := range s.UnitSeeds {
		snap.Seeds.UnitSeeds[strconv.FormatInt(b, 10)] = us
	}
	for b, why := range s.BuildingSeeds {
		snap.Seeds.BuildingSeeds[strconv.FormatInt(b, 10)] = why
	}
	for b, ps := range s.PlaceBuildings {
		snap.Seeds.PlaceBuildings[strconv.FormatInt(b, 10)] = ps
	}
	return snap
}
