package zoning

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/uber/h3-go/v4"
)

// ProposeParams are the documented thresholds of the proposal engine (SPEC
// §3). Zero values are replaced by the defaults of DefaultProposeParams.
type ProposeParams struct {
	// WindowDays is the look-back window: cases reported in (T-WindowDays, T] count.
	WindowDays int `json:"window_days"`
	// H3Resolution is the cell size used to find spread clusters (9: ~0.1 km² cells).
	H3Resolution int `json:"h3_resolution"`
	// SpreadMinBuildings: a cluster holding cases in at least this many
	// buildings within SpreadDays shows community spread.
	SpreadMinBuildings int `json:"spread_min_buildings"`
	// SpreadDays is the span of report dates for SpreadMinBuildings.
	SpreadDays int `json:"spread_days"`
	// UnknownSourceSpreads: a case of unknown source makes its cluster a spread cluster.
	UnknownSourceSpreads *bool `json:"unknown_source_spreads,omitempty"`
	// BuildingMinUnits: cases in at least this many units of one building
	// (or a case whose unit is unknown) designate the whole building; 0 never.
	// Unset means the default, 2.
	BuildingMinUnits *int `json:"building_min_units,omitempty"`
	// A place is high-risk when enclosed or poorly ventilated and visited by
	// at least PlaceMinCases cases, or PlaceMinVisits times, or for a stay of
	// at least PlaceLongStayHours.
	PlaceMinCases      int     `json:"place_min_cases"`
	PlaceMinVisits     int     `json:"place_min_visits"`
	PlaceLongStayHours float64 `json:"place_long_stay_hours"`
	// BoundaryKinds are the barrier kinds whose lines cut the county into
	// blocks; BoundaryRoadClasses the road classes among them.
	BoundaryKinds       []string `json:"boundary_kinds"`
	BoundaryRoadClasses []string `json:"boundary_road_classes"`
	// BarrierToleranceM: boundary within this distance of a barrier (or the
	// county edge) counts as following it.
	BarrierToleranceM float64 `json:"barrier_tolerance_m"`
	// MembershipShare: a building belongs to a zone when at least this share
	// of its footprint is inside; it is then wholly inside, else wholly out.
	MembershipShare float64 `json:"membership_share"`
	// FineBoundaryKinds and FineBoundaryRoadClasses cut the county into the
	// finest closed blocks, the enlargement level between the compound and
	// the coarse block: local roads, service roads and footways, walls,
	// fences, streams and water besides the coarse classes. Their lines (and
	// compound outlines) are also what a boundary may follow to count as on
	// barriers.
	FineBoundaryKinds       []string `json:"fine_boundary_kinds"`
	FineBoundaryRoadClasses []string `json:"fine_boundary_road_classes"`
	// FloorAreaPerWorkerM2 estimates the day-time population (workers) of a
	// non-residential building a trace seeded: floor area × floors (1 when
	// unknown) / this, rounded up. 20 m² of gross floor area per person is
	// the planning figure for offices and shops with their customers.
	FloorAreaPerWorkerM2 float64 `json:"floor_area_per_worker_m2"`
}

// DefaultProposeParams are the documented defaults.
func DefaultProposeParams() ProposeParams {
	yes := true
	two := 2
	return ProposeParams{
		WindowDays:              14,
		H3Resolution:            9,
		SpreadMinBuildings:      3,
		SpreadDays:              3,
		UnknownSourceSpreads:    &yes,
		BuildingMinUnits:        &two,
		PlaceMinCases:           2,
		PlaceMinVisits:          3,
		PlaceLongStayHours:      2,
		BoundaryKinds:           []string{"road", "river", "canal", "railway", "ridge", "cliff", "water"},
		BoundaryRoadClasses:     []string{"motorway", "trunk", "primary", "secondary"},
		BarrierToleranceM:       8,
		MembershipShare:         0.5,
		FineBoundaryKinds:       slices.Clone(knownBoundaryKinds),
		FineBoundaryRoadClasses: slices.Clone(knownRoadClasses),
		FloorAreaPerWorkerM2:    20,
	}
}

var knownBoundaryKinds = []string{"road", "river", "canal", "stream", "drain", "railway", "ridge", "cliff", "water", "wall", "fence"}
var knownRoadClasses = []string{"motorway", "trunk", "primary", "secondary", "tertiary", "residential", "unclassified", "minor"}

// ParseProposeParams decodes params JSON strictly (unknown fields are an
// error), fills defaults and validates.
func ParseProposeParams(raw []byte) (ProposeParams, error) {
	var p ProposeParams
	if len(strings.TrimSpace(string(raw))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, Errorf(ErrInvalid, "proposal parameters: %v", err)
		}
	}
	p = p.WithDefaults()
	return p, p.Validate()
}

// WithDefaults replaces zero values by defaults.
func (p ProposeParams) WithDefaults() ProposeParams {
	d := DefaultProposeParams()
	p.WindowDays = cmp.Or(p.WindowDays, d.WindowDays)
	p.H3Resolution = cmp.Or(p.H3Resolution, d.H3Resolution)
	p.SpreadMinBuildings = cmp.Or(p.SpreadMinBuildings, d.SpreadMinBuildings)
	p.SpreadDays = cmp.Or(p.SpreadDays, d.SpreadDays)
	p.UnknownSourceSpreads = cmp.Or(p.UnknownSourceSpreads, d.UnknownSourceSpreads)
	p.BuildingMinUnits = cmp.Or(p.BuildingMinUnits, d.BuildingMinUnits)
	p.PlaceMinCases = cmp.Or(p.PlaceMinCases, d.PlaceMinCases)
	p.PlaceMinVisits = cmp.Or(p.PlaceMinVisits, d.PlaceMinVisits)
	p.PlaceLongStayHours = cmp.Or(p.PlaceLongStayHours, d.PlaceLongStayHours)
	p.BarrierToleranceM = cmp.Or(p.BarrierToleranceM, d.BarrierToleranceM)
	p.MembershipShare = cmp.Or(p.MembershipShare, d.MembershipShare)
	p.FloorAreaPerWorkerM2 = cmp.Or(p.FloorAreaPerWorkerM2, d.FloorAreaPerWorkerM2)
	if p.FineBoundaryKinds == nil {
		p.FineBoundaryKinds = d.FineBoundaryKinds
	}
	if p.FineBoundaryRoadClasses == nil {
		p.FineBoundaryRoadClasses = d.FineBoundaryRoadClasses
	}
	if p.BoundaryKinds == nil {
		p.BoundaryKinds = d.BoundaryKinds
	}
	if p.BoundaryRoadClasses == nil {
		p.BoundaryRoadClasses = d.BoundaryRoadClasses
	}
	return p
}

// Validate checks ranges and names.
func (p ProposeParams) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(ErrInvalid, "proposal parameters: "+format, args...)
	}
	switch {
	case p.WindowDays < 1 || p.WindowDays > 60:
		return bad("window_days %d: want 1 to 60", p.WindowDays)
	case p.H3Resolution < 6 || p.H3Resolution > 11:
		return bad("h3_resolution %d: want 6 to 11", p.H3Resolution)
	case p.SpreadMinBuildings < 2:
		return bad("spread_min_buildings %d: want at least 2", p.SpreadMinBuildings)
	case p.SpreadDays < 1 || p.SpreadDays > 30:
		return bad("spread_days %d: want 1 to 30", p.SpreadDays)
	case p.BuildingMinUnits != nil && *p.BuildingMinUnits < 0:
		return bad("building_min_units %d: want 0 or more", *p.BuildingMinUnits)
	case p.PlaceMinCases < 1 || p.PlaceMinVisits < 1 || p.PlaceLongStayHours <= 0:
		return bad("place thresholds must be positive")
	case p.BarrierToleranceM <= 0 || p.BarrierToleranceM > 100:
		return bad("barrier_tolerance_m %g: want more than 0 and at most 100", p.BarrierToleranceM)
	case p.MembershipShare <= 0 || p.MembershipShare > 1:
		return bad("membership_share %g: want more than 0 and at most 1", p.MembershipShare)
	case p.FloorAreaPerWorkerM2 < 1 || p.FloorAreaPerWorkerM2 > 1000:
		return bad("floor_area_per_worker_m2 %g: want 1 to 1000", p.FloorAreaPerWorkerM2)
	}
	for _, k := range append(slices.Clone(p.BoundaryKinds), p.FineBoundaryKinds...) {
		if !slices.Contains(knownBoundaryKinds, k) {
			return bad("boundary_kinds: unknown barrier kind %q", k)
		}
	}
	for _, c := range append(slices.Clone(p.BoundaryRoadClasses), p.FineBoundaryRoadClasses...) {
		if !slices.Contains(knownRoadClasses, c) {
			return bad("boundary_road_classes: unknown road class %q", c)
		}
	}
	return nil
}

// ExclusionCategories are the five categories of SPEC §2 "Exclusions".
var ExclusionCategories = []string{"centralized_quarantine", "home_quarantine", "closed_loop_work", "post_discharge_positive", "inbound_past_infection"}

// CaseInput is what the engine needs to know of a case.
type CaseInput struct {
	ID          int64
	ReportDate  time.Time // a date (UTC midnight)
	UnitID      int64     // 0 when unknown
	BuildingID  int64     // the residence building (resolved from unit or point)
	Lon, Lat    float64   // residence location (building interior point, or the point)
	SourceKnown bool
	Excluded    string // exclusion category, "" when counted
}

// TraceInput is a counted case's visit to a place or building.
type TraceInput struct {
	CaseID           int64
	PlaceID          int64 // 0 for a bare building or point
	BuildingID       int64 // the building of the place or point; 0 when none
	Enclosed         bool
	PoorlyVentilated bool
	Hours            float64
}

// Ignored says why a case did not count.
type Ignored struct {
	CaseID int64  `json:"case_id"`
	Reason string `json:"reason"` // "excluded:<category>", "before_window", "after_time"
}

// Cluster is a connected group of H3 cells holding counted residences.
type Cluster struct {
	ID          int      `json:"id"`
	Cells       []string `json:"cells"`
	CaseIDs     []int64  `json:"case_ids"`
	BuildingIDs []int64  `json:"building_ids"`
	Spread      bool     `json:"spread"`
	// Why lists the rules that made the cluster a spread cluster.
	Why []string `json:"why,omitempty"`
}

// Seeds is the first stage of the engine: what must be in a high-risk zone.
type Seeds struct {
	Counted []CaseInput
	Ignored []Ignored
	// UnitSeeds maps a building to the units with counted residences when
	// only those units are designated.
	UnitSeeds map[int64][]int64
	// BuildingSeeds maps a building to the rules that designate it whole.
	BuildingSeeds map[int64][]string
	// PlaceBuildings maps a high-risk place's building to its place ids.
	PlaceBuildings map[int64][]int64
	Clusters       []Cluster
}

// SelectSeeds applies SPEC §3 steps 1-2 to the cases and traces of a county at
// time at: counted cases, unit/building seeds, high-risk places and spread
// clusters. It is deterministic: outputs are sorted.
func SelectSeeds(at time.Time, p ProposeParams, cases []CaseInput, traces []TraceInput) Seeds {
	s := Seeds{UnitSeeds: map[int64][]int64{}, BuildingSeeds: map[int64][]string{}, PlaceBuildings: map[int64][]int64{}}
	day := ProposalDay(at)
	from := day.AddDate(0, 0, -p.WindowDays+1)
	sorted := slices.Clone(cases)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, c := range sorted {
		switch {
		case c.Excluded != "":
			s.Ignored = append(s.Ignored, Ignored{c.ID, "excluded:" + c.Excluded})
		case c.ReportDate.After(day):
			s.Ignored = append(s.Ignored, Ignored{c.ID, "after_time"})
		case c.ReportDate.Before(from):
			s.Ignored = append(s.Ignored, Ignored{c.ID, "before_window"})
		default:
			s.Counted = append(s.Counted, c)
		}
	}
	counted := map[int64]bool{}
	units := map[int64]map[int64]bool{}
	for _, c := range s.Counted {
		counted[c.ID] = true
		if units[c.BuildingID] == nil {
			units[c.BuildingID] = map[int64]bool{}
		}
		units[c.BuildingID][c.UnitID] = true // 0 = unknown unit
	}
	for b, us := range units {
		switch {
		case us[0]:
			s.BuildingSeeds[b] = append(s.BuildingSeeds[b], "residence_unit_unknown")
		case p.BuildingMinUnits != nil && *p.BuildingMinUnits > 0 && len(us) >= *p.BuildingMinUnits:
			s.BuildingSeeds[b] = append(s.BuildingSeeds[b], fmt.Sprintf("cases_in_%d_units", len(us)))
		default:
			for u := range us {
				s.UnitSeeds[b] = append(s.UnitSeeds[b], u)
			}
			slices.Sort(s.UnitSeeds[b])
		}
	}
	s.placeSeeds(p, traces, counted)
	s.Clusters = FindClusters(p, s.Counted)
	return s
}

func (s *Seeds) placeSeeds(p ProposeParams, traces []TraceInput, counted map[int64]bool) {
	type placeKey struct{ place, building int64 }
	type stats struct {
		cases  map[int64]bool
		visits int
		long   bool
		risky  bool
	}
	by := map[placeKey]*stats{}
	for _, t := range traces {
		if !counted[t.CaseID] || t.BuildingID == 0 {
			continue
		}
		k := placeKey{t.PlaceID, t.BuildingID}
		st := by[k]
		if st == nil {
			st = &stats{cases: map[int64]bool{}}
			by[k] = st
		}
		st.cases[t.CaseID] = true
		st.visits++
		st.long = st.long || t.Hours >= p.PlaceLongStayHours
		st.risky = st.risky || t.Enclosed || t.PoorlyVentilated
	}
	for k, st := range by {
		if !st.risky {
			continue
		}
		var why []string
		if len(st.cases) >= p.PlaceMinCases {
			why = append(why, fmt.Sprintf("place_%d_cases", len(st.cases)))
		}
		if st.visits >= p.PlaceMinVisits {
			why = append(why, fmt.Sprintf("place_%d_visits", st.visits))
		}
		if st.long {
			why = append(why, "place_long_stay")
		}
		if len(why) == 0 {
			continue
		}
		s.BuildingSeeds[k.building] = append(s.BuildingSeeds[k.building], why...)
		if k.place != 0 {
			s.PlaceBuildings[k.building] = append(s.PlaceBuildings[k.building], k.place)
		}
	}
	for b := range s.BuildingSeeds {
		slices.Sort(s.BuildingSeeds[b])
		s.BuildingSeeds[b] = slices.Compact(s.BuildingSeeds[b])
		slices.Sort(s.PlaceBuildings[b])
		s.PlaceBuildings[b] = slices.Compact(s.PlaceBuildings[b])
	}
	// A building designated whole needs no unit seeds.
	for b := range s.BuildingSeeds {
		delete(s.UnitSeeds, b)
	}
}

// FindClusters groups counted residences into connected H3 cells at
// p.H3Resolution and marks those that show community spread: cases in at
// least SpreadMinBuildings buildings within SpreadDays, or (when enabled) a
// case of unknown source.
func FindClusters(p ProposeParams, counted []CaseInput) []Cluster {
	byCell := map[h3.Cell][]CaseInput{}
	for _, c := range counted {
		cell := h3.LatLngToCell(h3.NewLatLng(c.Lat, c.Lon), p.H3Resolution)
		byCell[cell] = append(byCell[cell], c)
	}
	cells := make([]h3.Cell, 0, len(byCell))
	for c := range byCell {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	seen := map[h3.Cell]bool{}
	var out []Cluster
	for _, start := range cells {
		if seen[start] {
			continue
		}
		// Breadth-first over neighbouring cells that hold cases.
		var comp []h3.Cell
		queue := []h3.Cell{start}
		seen[start] = true
		for len(queue) > 0 {
			c := queue[0]
			queue = queue[1:]
			comp = append(comp, c)
			for _, n := range c.GridDisk(1) {
				if _, ok := byCell[n]; ok && !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		slices.Sort(comp)
		cl := Cluster{ID: len(out) + 1}
		var members []CaseInput
		for _, c := range comp {
			cl.Cells = append(cl.Cells, c.String())
			members = append(members, byCell[c]...)
		}
		sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
		bset := map[int64]bool{}
		unknown := false
		for _, m := range members {
			cl.CaseIDs = append(cl.CaseIDs, m.ID)
			if !bset[m.BuildingID] {
				bset[m.BuildingID] = true
				cl.BuildingIDs = append(cl.BuildingIDs, m.BuildingID)
			}
			unknown = unknown || !m.SourceKnown
		}
		slices.Sort(cl.BuildingIDs)
		if n := maxBuildingsWithin(members, p.SpreadDays); n >= p.SpreadMinBuildings {
			cl.Spread = true
			cl.Why = append(cl.Why, fmt.Sprintf("cases_in_%d_buildings_within_%d_days", n, p.SpreadDays))
		}
		if unknown && p.UnknownSourceSpreads != nil && *p.UnknownSourceSpreads {
			cl.Spread = true
			cl.Why = append(cl.Why, "case_of_unknown_source")
		}
		out = append(out, cl)
	}
	return out
}

// maxBuildingsWithin is the largest number of distinct buildings with cases
// reported within any span of days consecutive days.
func maxBuildingsWithin(cases []CaseInput, days int) int {
	sorted := slices.Clone(cases)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ReportDate.Before(sorted[j].ReportDate) })
	best := 0
	lo := 0
	count := map[int64]int{}
	for hi, c := range sorted {
		count[c.BuildingID]++
		for sorted[lo].ReportDate.Before(c.ReportDate.AddDate(0, 0, -(days - 1))) {
			b := sorted[lo].BuildingID
			count[b]--
			if count[b] == 0 {
				delete(count, b)
			}
			lo++
		}
		_ = hi
		if len(count) > best {
			best = len(count)
		}
	}
	return best
}

// ProposalDay is the day of the engine's window: the calendar day of at in
// the county's time zone (China time), as a date (midnight UTC, like report
// dates). A run at 01:00 Beijing time is on that Beijing day, not on the UTC
// day before.
func ProposalDay(at time.Time) time.Time {
	return DateOf(at, ChinaTime()).Time
}

// ProposeRequest asks for proposals for a county at a time.
type ProposeRequest struct {
	CountyID int64
	At       time.Time
	Params   ProposeParams
	// Now is the current time, for refusing a time in the future.
	Now time.Time
}

// Validate checks the request before anything is read.
func (r ProposeRequest) Validate() error {
	if r.CountyID <= 0 {
		return Errorf(ErrInvalid, "county id must be a positive number")
	}
	if r.At.IsZero() {
		return Errorf(ErrInvalid, "the proposal time is missing")
	}
	if !r.Now.IsZero() && r.At.After(r.Now.Add(time.Minute)) {
		return Errorf(ErrInvalid, "the proposal time %s is in the future", r.At.UTC().Format(time.RFC3339))
	}
	return r.Params.Validate()
}

// BarrierRef names a barrier on a proposal's boundary.
type BarrierRef struct {
	ID        int64   `json:"id"`
	Kind      string  `json:"kind"`
	RoadClass string  `json:"road_class,omitempty"`
	Name      string  `json:"name"`
	LengthM   float64 `json:"shared_length_m"`
}

// Rationale explains a proposal. CaseIDs are restricted data.
type Rationale struct {
	Rules      []string `json:"rules"`
	ClusterIDs []int    `json:"cluster_ids,omitempty"`
	CaseIDs    []int64  `json:"case_ids"`
	PlaceIDs   []int64  `json:"place_ids,omitempty"`
	// BoundaryOnBarriers is the share of the boundary length within
	// BarrierToleranceM of a barrier of the fine classes (which hold the
	// coarse ones) or of a compound outline. The county edge does not count:
	// a boundary that runs along it is where the barriers did not close.
	BoundaryOnBarriers float64 `json:"boundary_on_barriers"`
	Enlarged           bool    `json:"enlarged"`
	// Enlargements say, per spread cluster, the level used and the levels
	// tried with their numbers against the bounds.
	Enlargements []Enlargement `json:"enlargements,omitempty"`
	// Reasons are the rules with the numbers behind them, for the sentences
	// of RationaleText.
	Reasons []Reason `json:"reasons,omitempty"`
	// Text is the rationale as sentences, in Chinese and English.
	Text *RationaleText `json:"text,omitempty"`
	// Parts are the parts the draft was assembled from, so an expert's
	// enlarge or shrink can assemble it again with one cluster part changed.
	Parts []ZonePart `json:"parts,omitempty"`
}

// Draft is a proposed high-risk zone.
type Draft struct {
	Key         string  `json:"key"`
	Level       string  `json:"level"`
	Name        string  `json:"name"`
	GeoJSON     []byte  `json:"-"`
	BuildingIDs []int64 `json:"building_ids"`
	UnitIDs     []int64 `json:"unit_ids"`
	Population  int     `json:"population"`
	// PopulationEstimated: the population holds estimated figures
	// (population_derived buildings or units, or Workers).
	PopulationEstimated bool `json:"population_estimated"`
	// Workers is the estimated day-time population of the non-residential
	// buildings seeded by a trace; it counts for StaffRequired.
	Workers          int          `json:"workers"`
	StaffRequired    int          `json:"staff_required"`
	AreaM2           float64      `json:"area_m2"`
	BoundaryBarriers []BarrierRef `json:"boundary_barriers"`
	Rationale        Rationale    `json:"rationale"`
}

// Proposal is the result of one engine run.
type Proposal struct {
	RunID     int64           `json:"run_id"`
	CountyID  int64           `json:"county_id"`
	At        time.Time       `json:"at"`
	RuleSetID string          `json:"rule_set_id"`
	Params    ProposeParams   `json:"params"`
	Drafts    []Draft         `json:"proposals"`
	Ignored   []Ignored       `json:"ignored_cases"`
	Clusters  []Cluster       `json:"clusters"`
	LowRisk   json.RawMessage `json:"low_risk_geometry"`
	IDs       []int64         `json:"proposal_ids"`
}
