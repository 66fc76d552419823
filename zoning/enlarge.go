package zoning

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
)

// Enlargement levels of a spread cluster, finest first. The engine tries
// LevelCompound, LevelFineBlock and LevelCoarseBlock in that order and stops
// at the first that holds the cluster within the bounds; a cluster that fits
// none gets LevelNearby (the bounded fallback). LevelBuilding (the seeded
// buildings alone) is only reached by an expert's "shrink one level".
const (
	LevelBuilding    = "building"
	LevelNearby      = "nearby"
	LevelCompound    = "compound"
	LevelFineBlock   = "fine_block"
	LevelCoarseBlock = "coarse_block"
)

// EnlargementLevels is the order of "enlarge one level" / "shrink one level".
var EnlargementLevels = []string{LevelBuilding, LevelNearby, LevelCompound, LevelFineBlock, LevelCoarseBlock}

// autoLevels are the levels the engine tries, in order.
var autoLevels = []string{LevelCompound, LevelFineBlock, LevelCoarseBlock}

// EnlargementBounds bound how far a spread cluster is enlarged (the national
// plan's "适度": high-risk zones are drawn by unit and building, and enlarged
// only moderately). They are rule-set data (rule_sets.enlargement); zero
// fields take the defaults of DefaultEnlargementBounds.
type EnlargementBounds struct {
	// MaxResidents is the most residents one enlarged part may hold.
	MaxResidents int `json:"max_residents"`
	// MaxAreaM2 is the largest area of one enlarged part.
	MaxAreaM2 float64 `json:"max_area_m2"`
	// MaxRatio is the most residents of a part per resident of the seeded
	// buildings (the cluster's case buildings).
	MaxRatio float64 `json:"max_ratio"`
	// FallbackDistanceM: the bounded fallback adds the buildings within this
	// distance of a seeded building, without crossing a barrier.
	FallbackDistanceM float64 `json:"fallback_distance_m"`
	// MaxEdgeShare: a block whose boundary lies on the county outline for
	// more than this share is where the barriers did not close (the county
	// outline, not a block) and is refused.
	MaxEdgeShare float64 `json:"max_edge_share"`
}

// DefaultEnlargementBounds are the documented defaults. A command centre
// accepts a compound (小区) or a few city blocks as one high-risk zone, not
// a district:
//   - 3,000 residents is a large compound or three to five city blocks; at
//     one worker per ten residents that is 300 staff, what a street office
//     can field for one zone.
//   - 250,000 m² (25 ha, a 500 m square) is a large compound or two to four
//     city blocks of 150-250 m sides.
//   - a ratio of 10 keeps the enlargement moderate: at most ten residents
//     locked down for each resident of a case building.
//   - 30 m is the next buildings across a courtyard or lane, not across a
//     street (the barrier clip stops at the street).
//   - a block more than half bounded by the county edge is not closed by
//     barriers at all.
func DefaultEnlargementBounds() EnlargementBounds {
	return EnlargementBounds{MaxResidents: 3000, MaxAreaM2: 250_000, MaxRatio: 10, FallbackDistanceM: 30, MaxEdgeShare: 0.5}
}

// WithDefaults replaces zero fields by the defaults.
func (b EnlargementBounds) WithDefaults() EnlargementBounds {
	d := DefaultEnlargementBounds()
	b.MaxResidents = cmp.Or(b.MaxResidents, d.MaxResidents)
	b.MaxAreaM2 = cmp.Or(b.MaxAreaM2, d.MaxAreaM2)
	b.MaxRatio = cmp.Or(b.MaxRatio, d.MaxRatio)
	b.FallbackDistanceM = cmp.Or(b.FallbackDistanceM, d.FallbackDistanceM)
	b.MaxEdgeShare = cmp.Or(b.MaxEdgeShare, d.MaxEdgeShare)
	return b
}

// Validate refuses bounds that cannot be meant (negative, or so large that
// nothing is bounded any more).
func (b EnlargementBounds) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(ErrInvalid, "enlargement bounds: "+format, args...)
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case b.MaxResidents < 1 || b.MaxResidents > 1_000_000:
		return bad("max_residents %d: want 1 to 1000000", b.MaxResidents)
	case !finite(b.MaxAreaM2) || b.MaxAreaM2 <= 0 || b.MaxAreaM2 > 100_000_000:
		return bad("max_area_m2 %g: want more than 0 and at most 100000000 (100 km²)", b.MaxAreaM2)
	case !finite(b.MaxRatio) || b.MaxRatio < 1 || b.MaxRatio > 1000:
		return bad("max_ratio %g: want 1 to 1000", b.MaxRatio)
	case !finite(b.FallbackDistanceM) || b.FallbackDistanceM <= 0 || b.FallbackDistanceM > 500:
		return bad("fallback_distance_m %g: want more than 0 and at most 500", b.FallbackDistanceM)
	case !finite(b.MaxEdgeShare) || b.MaxEdgeShare <= 0 || b.MaxEdgeShare > 1:
		return bad("max_edge_share %g: want more than 0 and at most 1", b.MaxEdgeShare)
	}
	return nil
}

// ParseEnlargementBounds decodes a rule set's enlargement JSON strictly
// (unknown fields are an error), fills defaults and validates.
func ParseEnlargementBounds(raw []byte) (EnlargementBounds, error) {
	var b EnlargementBounds
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return b, Errorf(ErrInvalid, "enlargement bounds: %v", err)
		}
		if dec.More() {
			return b, Errorf(ErrInvalid, "enlargement bounds: trailing data")
		}
	}
	b = b.WithDefaults()
	return b, b.Validate()
}

// LevelCandidate is what the store measured of one level for one cluster:
// the areas of that level holding the cluster's seeded buildings.
//
// "Holds the cluster" means: every seeded building of the cluster (its
// interior point) lies in an area of the level; Outside counts those that
// do not. Residents are the residents of the buildings whose interior point
// lies in the union of the areas.
type LevelCandidate struct {
	Level       string  `json:"level"`
	AreaIDs     []int64 `json:"area_ids,omitempty"`     // compound or block ids
	BuildingIDs []int64 `json:"building_ids,omitempty"` // LevelNearby and LevelBuilding: the buildings
	Outside     int     `json:"outside"`
	Residents   int     `json:"residents"`
	AreaM2      float64 `json:"area_m2"`
	EdgeShare   float64 `json:"edge_share"`
}

// ClusterLevels are the candidates of a cluster with the numbers of its
// seeded buildings.
type ClusterLevels struct {
	SeedBuildings int
	SeedResidents int
	Levels        map[string]LevelCandidate
}

// Refusal reasons of a level.
const (
	RefusedNotHeld    = "not_held"    // some seeded buildings lie in no area of the level
	RefusedCountyEdge = "county_edge" // an area is bounded mostly by the county outline
	RefusedResidents  = "residents"   // more residents than MaxResidents
	RefusedArea       = "area"        // larger than MaxAreaM2
	RefusedRatio      = "ratio"       // residents per seeded resident above MaxRatio
)

// LevelTry is one level the engine tried for a cluster, with its numbers and
// why it was refused.
type LevelTry struct {
	Level     string   `json:"level"`
	Accepted  bool     `json:"accepted"`
	Refused   []string `json:"refused,omitempty"`
	Areas     int      `json:"areas"`
	Outside   int      `json:"outside"`
	Residents int      `json:"residents"`
	AreaM2    float64  `json:"area_m2"`
	Ratio     float64  `json:"ratio"`
	EdgeShare float64  `json:"edge_share"`
}

// Enlargement records how a spread cluster was enlarged: the level used, the
// levels tried and the bounds. SeedBuildingIDs are restricted data (they
// are case residences), kept so an expert can enlarge or shrink later.
type Enlargement struct {
	ClusterID       int               `json:"cluster_id"`
	Level           string            `json:"level"`
	Fallback        bool              `json:"fallback"`
	ByExpert        bool              `json:"by_expert,omitempty"`
	SeedBuildings   int               `json:"seed_buildings"`
	SeedResidents   int               `json:"seed_residents"`
	Residents       int               `json:"residents"`
	AreaM2          float64           `json:"area_m2"`
	Bounds          EnlargementBounds `json:"bounds"`
	Tried           []LevelTry        `json:"tried"`
	SeedBuildingIDs []int64           `json:"seed_building_ids"`
	// SeedWholeIDs are the seeded buildings designated whole by their own
	// rules, SeedUnitIDs the seeded units of the others: the building level
	// is these alone (a cluster's fallback never promotes a unit to its
	// building).
	SeedWholeIDs []int64  `json:"seed_whole_ids,omitempty"`
	SeedUnitIDs  []int64  `json:"seed_unit_ids,omitempty"`
	Rules        []string `json:"rules,omitempty"`
}

// ratio is residents per seeded resident; a cluster whose buildings have no
// recorded residents counts as one resident, so any enlargement with
// residents is measured rather than divided by zero.
func ratio(residents, seed int) float64 {
	return float64(residents) / float64(max(seed, 1))
}

// TryLevel measures one candidate against the bounds.
func TryLevel(c LevelCandidate, cl ClusterLevels, b EnlargementBounds) LevelTry {
	t := LevelTry{Level: c.Level, Areas: len(c.AreaIDs), Outside: c.Outside, Residents: c.Residents,
		AreaM2: math.Round(c.AreaM2), Ratio: math.Round(ratio(c.Residents, cl.SeedResidents)*100) / 100, EdgeShare: math.Round(c.EdgeShare*1000) / 1000}
	areaLevel := c.Level == LevelCompound || c.Level == LevelFineBlock || c.Level == LevelCoarseBlock
	if areaLevel && (len(c.AreaIDs) == 0 || c.Outside > 0) {
		t.Refused = append(t.Refused, RefusedNotHeld)
	}
	if !areaLevel {
		t.Areas = len(c.BuildingIDs)
	}
	if c.EdgeShare > b.MaxEdgeShare {
		t.Refused = append(t.Refused, RefusedCountyEdge)
	}
	if c.Residents > b.MaxResidents {
		t.Refused = append(t.Refused, RefusedResidents)
	}
	if c.AreaM2 > b.MaxAreaM2 {
		t.Refused = append(t.Refused, RefusedArea)
	}
	if ratio(c.Residents, cl.SeedResidents) > b.MaxRatio {
		t.Refused = append(t.Refused, RefusedRatio)
	}
	t.Accepted = len(t.Refused) == 0
	return t
}

// ChooseLevel picks the enlargement of a cluster: the first of compound,
// fine block and coarse block that holds it within the bounds, else the
// bounded fallback: the nearby buildings (LevelNearby) when they are within
// the bounds, else the seeded buildings alone (LevelBuilding; the case
// buildings are high-risk whatever their number). Levels the store did not
// measure count as not held.
func ChooseLevel(clusterID int, cl ClusterLevels, b EnlargementBounds) Enlargement {
	e := Enlargement{ClusterID: clusterID, SeedBuildings: cl.SeedBuildings, SeedResidents: cl.SeedResidents, Bounds: b}
	for _, lvl := range autoLevels {
		c, ok := cl.Levels[lvl]
		if !ok {
			c = LevelCandidate{Level: lvl, Outside: cl.SeedBuildings}
		}
		t := TryLevel(c, cl, b)
		e.Tried = append(e.Tried, t)
		if t.Accepted {
			e.Level, e.Residents, e.AreaM2 = lvl, c.Residents, t.AreaM2
			return e
		}
	}
	e.Fallback = true
	n, ok := cl.Levels[LevelNearby]
	if !ok {
		n = LevelCandidate{Level: LevelNearby}
	}
	t := TryLevel(n, cl, b)
	if t.Accepted && len(n.BuildingIDs) > 0 {
		e.Level, e.Residents, e.AreaM2 = LevelNearby, n.Residents, t.AreaM2
		return e
	}
	e.Tried = append(e.Tried, t)
	seed := cl.Levels[LevelBuilding]
	e.Level, e.Residents, e.AreaM2 = LevelBuilding, cl.SeedResidents, math.Round(seed.AreaM2)
	return e
}

// StepLevel is the level one step above (up) or below the current one for
// an expert's enlarge or shrink, skipping levels that do not hold the
// cluster or are bounded by the county outline (never the county outline
// alone). It returns "" when there is none.
func StepLevel(current string, up bool, cl ClusterLevels, b EnlargementBounds) string {
	i := slices.Index(EnlargementLevels, current)
	if i < 0 {
		return ""
	}
	for {
		if up {
			i++
		} else {
			i--
		}
		if i < 0 || i >= len(EnlargementLevels) {
			return ""
		}
		lvl := EnlargementLevels[i]
		if lvl == LevelBuilding || lvl == LevelNearby {
			return lvl
		}
		c, ok := cl.Levels[lvl]
		if !ok {
			continue
		}
		t := TryLevel(c, cl, b)
		if slices.Contains(t.Refused, RefusedNotHeld) || slices.Contains(t.Refused, RefusedCountyEdge) {
			continue
		}
		return lvl
	}
}
