package zoning

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Zone statuses (zones.status and zone_versions.status).
const (
	ZoneActive     = "active"
	ZoneLifted     = "lifted"
	ZoneSuperseded = "superseded"
)

// Changes a zone version records (zone_versions.change).
const (
	ChangeDesignate    = "designate"     // approved from a proposal: version 1
	ChangeAdjust       = "adjust"        // geometry or member set edited
	ChangeExtend       = "extend"        // a new infection moved the clock
	ChangeSplit        = "split"         // a part of a split (v1), or the parent's closing version
	ChangeMerge        = "merge"         // a merged zone (v1), or a parent's closing version
	ChangeLift         = "lift"          // lifted when eligible
	ChangeOverrideLift = "override_lift" // lifted by an admin against the rule, with a written reason
)

// Limits of edit requests. They bound the work one request can cause.
const (
	MaxMemberIDs       = 20000  // ids in one member edit
	MaxSplitParts      = 20     // parts of one split
	MaxMergeZones      = 50     // zones of one merge
	MaxGeometryVertex  = 200000 // positions in one drawn geometry
	MaxReasonLength    = 2000   // bytes of a reason
	MaxZoneNameLength  = 200    // bytes of a zone name
	minOverrideReason  = 10     // characters of an override's written reason
	maxScreeningPeople = 100000000
)

// ZoneVersion is one immutable state of a zone: what it covers, its clock,
// and who made it when and why. Versions of a zone tile time: each is valid
// from ValidFrom until ValidTo (nil for the current one).
type ZoneVersion struct {
	ZoneID        int64           `json:"zone_id"`
	CountyID      int64           `json:"county_id"`
	Version       int             `json:"version"`
	Level         string          `json:"level"`
	Status        string          `json:"status"`
	Change        string          `json:"change"`
	Name          string          `json:"name"`
	Geometry      json.RawMessage `json:"geometry"`
	BuildingIDs   []int64         `json:"building_ids"`
	UnitIDs       []int64         `json:"unit_ids"`
	Population    int             `json:"population"`
	StaffRequired int             `json:"staff_required"`
	AreaM2        float64         `json:"area_m2"`
	RuleSetID     string          `json:"rule_set_id"`
	// ClockStart is L of SPEC §2 "Lifting": the report date of the last
	// counted infection in the zone, or the designation date if later.
	ClockStart Date `json:"clock_start"`
	// ClockReason says why the clock stands where it does.
	ClockReason string `json:"clock_reason"`
	// EarliestLifting is ClockStart plus the rule set's clean days.
	EarliestLifting   Date       `json:"earliest_lifting"`
	ValidFrom         time.Time  `json:"valid_from"`
	ValidTo           *time.Time `json:"valid_to"`
	AuthorID          *int64     `json:"author_id"`
	Author            string     `json:"author"`
	Reason            string     `json:"reason"`
	PublishedNoticeID *int64     `json:"published_notice_id"`
	// PopulationEstimated: some members' population is an estimate (the
	// importer's footprint × floors × density, buildings.population_derived)
	// rather than a count; screens mark the figure "约 / est.".
	PopulationEstimated bool `json:"population_estimated"`
}

// Zone is a risk zone: its identity and lineage, and its current version.
type Zone struct {
	ID             int64       `json:"id"`
	CountyID       int64       `json:"county_id"`
	ProposalID     *int64      `json:"proposal_id"`
	ParentZoneIDs  []int64     `json:"parent_zone_ids"`
	CurrentVersion int         `json:"current_version"`
	Status         string      `json:"status"`
	CreatedAt      time.Time   `json:"created_at"`
	Current        ZoneVersion `json:"current"`
}

// ETag is the entity tag of the zone's current version, "z<id>-v<version>":
// edits send it back in If-Match to say which version they change.
func (z Zone) ETag() string { return VersionETag(z.ID, z.CurrentVersion) }

// VersionETag is the entity tag of version v of zone id.
func VersionETag(id int64, v int) string { return fmt.Sprintf(`"z%d-v%d"`, id, v) }

// ParseIfMatch reads the version an If-Match header names for zone id. A
// weak tag (W/) is accepted; "*", a list or another zone's tag is not.
func ParseIfMatch(h string, id int64) (int, error) {
	s := strings.TrimSpace(h)
	s = strings.TrimPrefix(s, "W/")
	prefix := fmt.Sprintf(`"z%d-v`, id)
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, `"`) {
		return 0, Errorf(ErrInvalid, "If-Match %q: want the ETag of a version of zone %d, e.g. %s", h, id, VersionETag(id, 1))
	}
	v, err := strconv.Atoi(s[len(prefix) : len(s)-1])
	if err != nil || v < 1 {
		return 0, Errorf(ErrInvalid, "If-Match %q: want the ETag of a version of zone %d, e.g. %s", h, id, VersionETag(id, 1))
	}
	return v, nil
}

// StaleVersionError refuses an edit of a version that is no longer the
// zone's current one: someone else changed the zone first. It is an
// ErrConflict (409) and carries the current version for the answer.
type StaleVersionError struct {
	ZoneID  int64
	Given   int
	Current int
	Status  string
}

func (e *StaleVersionError) Error() string {
	return fmt.Sprintf("zone %d changed: you edited version %d but the current version is %d (%s); reload the zone and apply your edit again",
		e.ZoneID, e.Given, e.Current, e.Status)
}

// Unwrap makes the error an ErrConflict for Kind and Message.
func (e *StaleVersionError) Unwrap() error { return Errorf(ErrConflict, "%s", e.Error()) }

// ProposalRecord is a stored proposal as the lifecycle sees it.
type ProposalRecord struct {
	ID             int64           `json:"id"`
	RunID          int64           `json:"run_id"`
	CountyID       int64           `json:"county_id"`
	Level          string          `json:"level"`
	Status         string          `json:"status"`
	Name           string          `json:"name"`
	Geometry       json.RawMessage `json:"geometry"`
	BuildingIDs    []int64         `json:"building_ids"`
	UnitIDs        []int64         `json:"unit_ids"`
	Population     int             `json:"population"`
	StaffRequired  int             `json:"staff_required"`
	AreaM2         float64         `json:"area_m2"`
	Rationale      json.RawMessage `json:"rationale"`
	CreatedBy      *int64          `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
	DecidedBy      *int64          `json:"decided_by"`
	DecidedAt      *time.Time      `json:"decided_at"`
	DecisionReason string          `json:"decision_reason"`
	// ZoneID is the zone made from the proposal when it was approved.
	ZoneID *int64 `json:"zone_id"`
	// PopulationEstimated: the population holds estimated figures.
	PopulationEstimated bool `json:"population_estimated"`
	// Workers is the estimated day-time population counted for staff.
	Workers int `json:"workers"`
	// Supersedes is the proposal an expert's enlarge or shrink replaced
	// with this one; SupersededBy the proposals that replaced this one.
	Supersedes   *int64  `json:"supersedes"`
	SupersededBy []int64 `json:"superseded_by"`
	// RationaleText is the rationale as sentences (zh and en).
	RationaleText RationaleText `json:"rationale_text"`
}

// Diff compares two versions of a zone.
type Diff struct {
	ZoneID            int64   `json:"zone_id"`
	From              int     `json:"from"`
	To                int     `json:"to"`
	BuildingsAdded    []int64 `json:"buildings_added"`
	BuildingsRemoved  []int64 `json:"buildings_removed"`
	UnitsAdded        []int64 `json:"units_added"`
	UnitsRemoved      []int64 `json:"units_removed"`
	PopulationFrom    int     `json:"population_from"`
	PopulationTo      int     `json:"population_to"`
	PopulationDelta   int     `json:"population_delta"`
	StaffRequiredFrom int     `json:"staff_required_from"`
	StaffRequiredTo   int     `json:"staff_required_to"`
	AreaFromM2        float64 `json:"area_from_m2"`
	AreaToM2          float64 `json:"area_to_m2"`
	// AreaAddedM2 is the area of To outside From; AreaRemovedM2 of From outside To.
	AreaAddedM2   float64 `json:"area_added_m2"`
	AreaRemovedM2 float64 `json:"area_removed_m2"`
	ClockFrom     Date    `json:"clock_start_from"`
	ClockTo       Date    `json:"clock_start_to"`
	StatusFrom    string  `json:"status_from"`
	StatusTo      string  `json:"status_to"`
}

// DiffVersions compares the members, population and clock of two versions;
// the geometric areas added and removed are the store's to fill.
func DiffVersions(a, b ZoneVersion) Diff {
	d := Diff{ZoneID: a.ZoneID, From: a.Version, To: b.Version,
		PopulationFrom: a.Population, PopulationTo: b.Population, PopulationDelta: b.Population - a.Population,
		StaffRequiredFrom: a.StaffRequired, StaffRequiredTo: b.StaffRequired,
		AreaFromM2: a.AreaM2, AreaToM2: b.AreaM2, ClockFrom: a.ClockStart, ClockTo: b.ClockStart,
		StatusFrom: a.Status, StatusTo: b.Status}
	d.BuildingsAdded, d.BuildingsRemoved = setDiff(a.BuildingIDs, b.BuildingIDs)
	d.UnitsAdded, d.UnitsRemoved = setDiff(a.UnitIDs, b.UnitIDs)
	return d
}

// setDiff returns the ids in b not in a, and in a not in b, sorted.
func setDiff(a, b []int64) (added, removed []int64) {
	in := func(s []int64) map[int64]bool {
		m := make(map[int64]bool, len(s))
		for _, x := range s {
			m[x] = true
		}
		return m
	}
	ia, ib := in(a), in(b)
	added, removed = []int64{}, []int64{}
	for x := range ib {
		if !ia[x] {
			added = append(added, x)
		}
	}
	for x := range ia {
		if !ib[x] {
			removed = append(removed, x)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// LowRiskPeriod is a span during which a county had high-risk zones and so
// a low-risk zone (the rest of the county). ClosedAt is nil while it lasts.
type LowRiskPeriod struct {
	OpenedAt     time.Time  `json:"opened_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	OpenedByZone *int64     `json:"opened_by_zone"`
	ClosedByZone *int64     `json:"closed_by_zone"`
}

// ZoneSummary is an active zone in a county's status.
type ZoneSummary struct {
	ID              int64  `json:"id"`
	Version         int    `json:"version"`
	Name            string `json:"name"`
	Level           string `json:"level"`
	Population      int    `json:"population"`
	StaffRequired   int    `json:"staff_required"`
	ClockStart      Date   `json:"clock_start"`
	EarliestLifting Date   `json:"earliest_lifting"`
}

// County states (CountyStatus.State).
const (
	// CountyZoned: at least one active high-risk zone; the rest is low risk.
	CountyZoned = "zoned"
	// CountyNormalized: no high-risk zone, no zones ("normalized prevention").
	CountyNormalized = "normalized"
)

// CountyStatus is the zoning state of a county.
type CountyStatus struct {
	CountyID         int64           `json:"county_id"`
	Name             string          `json:"name"`
	RuleSetID        string          `json:"rule_set_id"`
	State            string          `json:"state"`
	ActiveZones      []ZoneSummary   `json:"active_zones"`
	ActivePopulation int             `json:"active_population"`
	LowRisk          *LowRiskPeriod  `json:"low_risk"`
	LowRiskPeriods   []LowRiskPeriod `json:"low_risk_periods"`
}

// ZoneFilter selects zone versions for a map: the current versions (At
// zero) with the given status, or the active versions valid at instant At.
type ZoneFilter struct {
	CountyID int64
	// Status: active (default), lifted, superseded or all; only with At zero.
	Status string
	At     time.Time
}

// Validate checks the filter.
func (f ZoneFilter) Validate() error {
	switch f.Status {
	case "", ZoneActive, ZoneLifted, ZoneSuperseded, "all":
	default:
		return Errorf(ErrInvalid, "status %q: want active, lifted, superseded or all", f.Status)
	}
	if !f.At.IsZero() && f.Status != "" && f.Status != ZoneActive {
		return Errorf(ErrInvalid, "the map as of a time shows active zones only: leave status out or set it to active")
	}
	if f.CountyID < 0 {
		return Errorf(ErrInvalid, "county %d: want a positive id", f.CountyID)
	}
	return nil
}
