package postgis_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// goldenProposal is what the golden file records of a proposal.
type goldenProposal struct {
	Name       string   `json:"name"`
	Levels     []string `json:"levels"`
	Buildings  int      `json:"buildings"`
	Units      int      `json:"units"`
	Residents  int      `json:"residents"`
	Workers    int      `json:"workers"`
	Estimated  bool     `json:"population_estimated"`
	AreaM2     int      `json:"area_m2"`
	OnBarriers float64  `json:"boundary_on_barriers"`
}

type goldenRun struct {
	Proposals      int              `json:"proposals"`
	Residents      int              `json:"residents"`
	AreaM2         int              `json:"area_m2"`
	LargestPopulat int              `json:"largest_residents"`
	List           []goldenProposal `json:"list"`
}

func demoGolden(p zoning.Proposal) goldenRun {
	g := goldenRun{Proposals: len(p.Drafts), List: []goldenProposal{}}
	var area float64
	for _, d := range p.Drafts {
		gp := goldenProposal{Name: d.Name, Levels: []string{}, Buildings: len(d.BuildingIDs), Units: len(d.UnitIDs),
			Residents: d.Population, Workers: d.Workers, Estimated: d.PopulationEstimated,
			AreaM2: int(math.Round(d.AreaM2)), OnBarriers: math.Round(d.Rationale.BoundaryOnBarriers*1000) / 1000}
		for _, e := range d.Rationale.Enlargements {
			gp.Levels = append(gp.Levels, e.Level)
		}
		g.Residents += d.Population
		g.LargestPopulat = max(g.LargestPopulat, d.Population)
		area += d.AreaM2
		g.List = append(g.List, gp)
	}
	g.AreaM2 = int(math.Round(area))
	return g
}

// compareGolden compares got with the JSON golden file at path; with
// RISKZONE_UPDATE_GOLDEN=1 it rewrites the file instead. Areas may differ by
// 0.1% (GEOS versions round differently); everything else must be equal.
func compareGolden(t *testing.T, path string, got goldenRun) {
	t.Helper()
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("RISKZONE_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (RISKZONE_UPDATE_GOLDEN=1 writes it): %v", err)
	}
	var want goldenRun
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	near := func(a, b int) bool { return math.Abs(float64(a-b)) <= 1+0.001*math.Abs(float64(b)) }
	var diffs []string
	if got.Proposals != want.Proposals || got.Residents != want.Residents || !near(got.AreaM2, want.AreaM2) || got.LargestPopulat != want.LargestPopulat {
		diffs = append(diffs, "totals differ")
	}
	for i := range min(len(got.List), len(want.List)) {
		g, w := got.List[i], want.List[i]
		if g.Name != w.Name || strings.Join(g.Levels, ",") != strings.Join(w.Levels, ",") || g.Buildings != w.Buildings || g.Units != w.Units ||
			g.Residents != w.Residents || g.Workers != w.Workers || g.Estimated != w.Estimated || !near(g.AreaM2, w.AreaM2) ||
			math.Abs(g.OnBarriers-w.OnBarriers) > 0.002 {
			diffs = append(diffs, "proposal "+g.Name)
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("proposals differ from %s (%s); got:\n%s\nRISKZONE_UPDATE_GOLDEN=1 rewrites the file after a deliberate change", path, strings.Join(diffs, "; "), out)
	}
}
