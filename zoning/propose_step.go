package zoning

import (
	"math"
	"slices"
)

// StepParts are the parts of a proposal after an expert's "enlarge one
// level" (up) or "shrink one level": every spread cluster of the proposal
// moves one level (StepLevel: levels that do not hold the cluster, and the
// county outline, are skipped; the bounds do not bind an expert, the
// rationale shows the numbers). Parts that are not a cluster's stay as they
// were. levels are the clusters' levels measured now. It refuses
// (ErrConflict) a proposal without a spread cluster, one made before the
// parts were recorded, and one whose clusters are all at the top (or
// bottom) level.
func StepParts(r Rationale, up bool, levels map[int]ClusterLevels) ([]ZonePart, []Enlargement, error) {
	word := "shrink"
	if up {
		word = "enlarge"
	}
	if len(r.Enlargements) == 0 {
		return nil, nil, Errorf(ErrConflict, "the proposal has no spread cluster to %s: it holds only case units and buildings", word)
	}
	if len(r.Parts) == 0 {
		return nil, nil, Errorf(ErrConflict, "the proposal was made before enlargement levels were recorded: run the engine again to %s it", word)
	}
	byCluster := map[int]Enlargement{}
	stepped := 0
	var enl []Enlargement
	for _, e := range r.Enlargements {
		cl := levels[e.ClusterID]
		next := StepLevel(e.Level, up, cl, e.Bounds)
		if next == "" {
			enl = append(enl, e)
			byCluster[e.ClusterID] = e
			continue
		}
		stepped++
		c := cl.Levels[next]
		n := Enlargement{ClusterID: e.ClusterID, Level: next, ByExpert: true, SeedBuildings: cl.SeedBuildings, SeedResidents: cl.SeedResidents,
			Residents: c.Residents, AreaM2: math.Round(c.AreaM2), Bounds: e.Bounds, Tried: []LevelTry{}, SeedBuildingIDs: e.SeedBuildingIDs, SeedWholeIDs: e.SeedWholeIDs, SeedUnitIDs: e.SeedUnitIDs, Rules: e.Rules}
		enl = append(enl, n)
		byCluster[e.ClusterID] = n
	}
	if stepped == 0 {
		where := "no level below the case buildings"
		if up {
			where = "no level above: the next is missing, does not hold the cluster, or is only the county outline"
		}
		return nil, nil, Errorf(ErrConflict, "cannot %s the proposal: %s", word, where)
	}
	var parts []ZonePart
	done := map[int]bool{}
	for _, p := range r.Parts {
		if p.ClusterID == 0 {
			parts = append(parts, p)
			continue
		}
		if done[p.ClusterID] {
			continue
		}
		done[p.ClusterID] = true
		e := byCluster[p.ClusterID]
		nps := ClusterParts(e, levels[p.ClusterID])
		if len(nps) == 0 {
			return nil, nil, Errorf(ErrConflict, "cluster %d has no %s now (the map changed): run the engine again", p.ClusterID, e.Level)
		}
		for _, np := range nps {
			np.Rules = append(np.Rules, e.Rules...)
			parts = append(parts, np)
		}
	}
	slices.SortStableFunc(enl, func(a, b Enlargement) int { return a.ClusterID - b.ClusterID })
	return parts, enl, nil
}
