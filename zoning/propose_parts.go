package zoning

import "slices"

// ZonePart is one piece of a draft zone before merging: whole buildings,
// some units of a building, or the enlargement of a spread cluster
// (compounds, barrier blocks, or buildings for the nearby and building
// levels).
type ZonePart struct {
	BuildingIDs []int64  `json:"building_ids,omitempty"`
	UnitIDs     []int64  `json:"unit_ids,omitempty"`
	BlockIDs    []int64  `json:"block_ids,omitempty"`
	CompoundIDs []int64  `json:"compound_ids,omitempty"`
	Rules       []string `json:"rules"`
	ClusterID   int      `json:"cluster_id,omitempty"`
	// Level is the enlargement level of a cluster's part.
	Level string `json:"level,omitempty"`
}

// Parts turns seeds into zone parts; enl maps each spread cluster id to its
// enlargement and levels to the measured candidates of its levels.
func (s Seeds) Parts(enl map[int]Enlargement, levels map[int]ClusterLevels) []ZonePart {
	var parts []ZonePart
	bs := make([]int64, 0, len(s.BuildingSeeds))
	for b := range s.BuildingSeeds {
		bs = append(bs, b)
	}
	slices.Sort(bs)
	for _, b := range bs {
		parts = append(parts, ZonePart{BuildingIDs: []int64{b}, Rules: s.BuildingSeeds[b]})
	}
	us := make([]int64, 0, len(s.UnitSeeds))
	for b := range s.UnitSeeds {
		us = append(us, b)
	}
	slices.Sort(us)
	for _, b := range us {
		parts = append(parts, ZonePart{UnitIDs: s.UnitSeeds[b], Rules: []string{"residence_unit"}})
	}
	for _, cl := range s.Clusters {
		e, ok := enl[cl.ID]
		if !cl.Spread || !ok {
			continue
		}
		for _, part := range ClusterParts(e, levels[cl.ID]) {
			part.Rules = append(part.Rules, cl.Why...)
			parts = append(parts, part)
		}
	}
	return parts
}

// ClusterParts are the zone parts of a cluster enlarged to e.Level:
// compounds, blocks, the nearby buildings, or at the building level the
// cluster's own seeds (its whole buildings and its units, as seeded).
func ClusterParts(e Enlargement, cl ClusterLevels) []ZonePart {
	part := ZonePart{ClusterID: e.ClusterID, Level: e.Level}
	c := cl.Levels[e.Level]
	switch e.Level {
	case LevelCompound:
		part.CompoundIDs = c.AreaIDs
		part.Rules = []string{"spread_cluster_compound"}
	case LevelFineBlock, LevelCoarseBlock:
		part.BlockIDs = c.AreaIDs
		part.Rules = []string{"spread_cluster_blocks"}
	case LevelNearby:
		part.BuildingIDs = c.BuildingIDs
		if len(part.BuildingIDs) == 0 {
			part.BuildingIDs = e.SeedBuildingIDs
		}
		part.Rules = []string{"spread_cluster_nearby"}
	case LevelBuilding:
		var out []ZonePart
		if len(e.SeedWholeIDs) > 0 {
			out = append(out, ZonePart{ClusterID: e.ClusterID, Level: e.Level, BuildingIDs: e.SeedWholeIDs, Rules: []string{"spread_cluster_buildings"}})
		}
		if len(e.SeedUnitIDs) > 0 {
			out = append(out, ZonePart{ClusterID: e.ClusterID, Level: e.Level, UnitIDs: e.SeedUnitIDs, Rules: []string{"spread_cluster_buildings"}})
		}
		if len(out) == 0 && len(e.SeedBuildingIDs) > 0 {
			out = append(out, ZonePart{ClusterID: e.ClusterID, Level: e.Level, BuildingIDs: e.SeedBuildingIDs, Rules: []string{"spread_cluster_buildings"}})
		}
		return out
	}
	if len(part.CompoundIDs)+len(part.BlockIDs)+len(part.BuildingIDs) == 0 {
		return nil
	}
	return []ZonePart{part}
}
