package zoning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

// Date is a calendar day without a time of day, kept as midnight UTC and
// written as "YYYY-MM-DD" in JSON. Zone clocks count days in the county's
// local calendar (see DateOf).
type Date struct{ time.Time }

// MakeDate is the day y-m-d.
func MakeDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// DateOf is the calendar day of instant t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return MakeDate(y, m, d)
}

// AsDate reads a date scanned from the database (midnight, any zone) as a Date.
func AsDate(t time.Time) Date {
	y, m, d := t.Date()
	return MakeDate(y, m, d)
}

// ParseDay parses a YYYY-MM-DD date; field names it in the error.
func ParseDay(field, s string) (Date, error) {
	t, err := ParseDate(field, s)
	if err != nil {
		return Date{}, err
	}
	return Date{t}, nil
}

// AddDays is the day n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return Date{d.Time.AddDate(0, 0, n)} }

// DaysSince is the number of days from o to d (negative when d is before o).
func (d Date) DaysSince(o Date) int {
	return int(math.Round(d.Time.Sub(o.Time).Hours() / 24))
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Time.Before(o.Time) }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Time.After(o.Time) }

// String is YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.Time.IsZero() {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.Time.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(ErrInvalid, "date: want a string YYYY-MM-DD")
	}
	v, err := ParseDay("date", s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

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
}

// MemberChange adds or removes buildings and units of a zone by id. Adding
// a building adds all its units; removing a unit of a member building leaves
// the building's other units in the zone (the zone is then drawn at unit
// level there); a building all of whose units are members is a member.
type MemberChange struct {
	AddBuildings    []int64 `json:"add_buildings,omitempty"`
	RemoveBuildings []int64 `json:"remove_buildings,omitempty"`
	AddUnits        []int64 `json:"add_units,omitempty"`
	RemoveUnits     []int64 `json:"remove_units,omitempty"`
}

// Empty reports whether the change names no id.
func (m MemberChange) Empty() bool {
	return len(m.AddBuildings)+len(m.RemoveBuildings)+len(m.AddUnits)+len(m.RemoveUnits) == 0
}

// Validate checks ids: positive, not repeated, not both added and removed.
func (m MemberChange) Validate() error {
	if n := len(m.AddBuildings) + len(m.RemoveBuildings) + len(m.AddUnits) + len(m.RemoveUnits); n > MaxMemberIDs {
		return Errorf(ErrTooLarge, "%d ids in one member edit: at most %d", n, MaxMemberIDs)
	}
	check := func(kind string, add, remove []int64) error {
		seen := map[int64]string{}
		for _, l := range []struct {
			name string
			ids  []int64
		}{{"add_" + kind, add}, {"remove_" + kind, remove}} {
			for _, id := range l.ids {
				if id <= 0 {
					return Errorf(ErrInvalid, "%s: id %d is not a positive number", l.name, id)
				}
				if prev, ok := seen[id]; ok {
					if prev == l.name {
						return Errorf(ErrInvalid, "%s: id %d is given twice", l.name, id)
					}
					return Errorf(ErrInvalid, "%s %d is both added and removed", strings.TrimSuffix(kind, "s"), id)
				}
				seen[id] = l.name
			}
		}
		return nil
	}
	if err := check("buildings", m.AddBuildings, m.RemoveBuildings); err != nil {
		return err
	}
	return check("units", m.AddUnits, m.RemoveUnits)
}

// ApproveRequest approves a proposal as an active zone, whole or after
// edits: either a new geometry or a member change, not both.
type ApproveRequest struct {
	Reason   string          `json:"reason"`
	Name     string          `json:"name,omitempty"`
	Geometry json.RawMessage `json:"geometry,omitempty"`
	MemberChange
}

// Validate checks the request before anything is read.
func (r ApproveRequest) Validate() error {
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if len(r.Name) > MaxZoneNameLength {
		return Errorf(ErrInvalid, "name is longer than %d bytes", MaxZoneNameLength)
	}
	if hasJSON(r.Geometry) && !r.MemberChange.Empty() {
		return Errorf(ErrInvalid, "give either a geometry or member changes, not both")
	}
	if hasJSON(r.Geometry) {
		if err := CheckGeometryJSON(r.Geometry); err != nil {
			return err
		}
	}
	return r.MemberChange.Validate()
}

// RejectRequest rejects a proposal (SPEC §2: a county may decide that no
// zone is needed); the reason is required.
type RejectRequest struct {
	Reason string `json:"reason"`
}

// Validate checks the reason.
func (r RejectRequest) Validate() error { return checkReason(r.Reason) }

// GeometryEdit replaces an active zone's geometry. Members are recomputed
// by the membership rule (see MembershipShare) and the saved geometry is
// adjusted so that no building is cut.
type GeometryEdit struct {
	// Version is the version edited (or give If-Match).
	Version  int             `json:"version,omitempty"`
	Geometry json.RawMessage `json:"geometry"`
	Reason   string          `json:"reason"`
}

// Validate checks the request before anything is read.
func (r GeometryEdit) Validate() error {
	if err := checkVersion(r.Version); err != nil {
		return err
	}
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if !hasJSON(r.Geometry) {
		return Errorf(ErrInvalid, "geometry is missing: want a GeoJSON Polygon or MultiPolygon")
	}
	return CheckGeometryJSON(r.Geometry)
}

// MembersEdit adds or removes buildings and units of an active zone; the
// geometry follows: the old geometry plus the added footprints minus the
// removed ones.
type MembersEdit struct {
	Version int    `json:"version,omitempty"`
	Reason  string `json:"reason"`
	MemberChange
}

// Validate checks the request before anything is read.
func (r MembersEdit) Validate() error {
	if err := checkVersion(r.Version); err != nil {
		return err
	}
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if r.MemberChange.Empty() {
		return Errorf(ErrInvalid, "no member change: give add_buildings, remove_buildings, add_units or remove_units")
	}
	return r.MemberChange.Validate()
}

// SplitRequest splits an active zone into parts drawn as geometries. Every
// member goes, whole, to the part that covers most of its footprint (at
// least MembershipShare of it); each part becomes a zone with its own clock.
type SplitRequest struct {
	Version int               `json:"version,omitempty"`
	Parts   []json.RawMessage `json:"parts"`
	// Names of the parts, optional; default "<name>-1", "<name>-2", ...
	Names  []string `json:"names,omitempty"`
	Reason string   `json:"reason"`
}

// Validate checks the request before anything is read.
func (r SplitRequest) Validate() error {
	if err := checkVersion(r.Version); err != nil {
		return err
	}
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if len(r.Parts) < 2 {
		return Errorf(ErrInvalid, "a split needs at least two parts, got %d", len(r.Parts))
	}
	if len(r.Parts) > MaxSplitParts {
		return Errorf(ErrTooLarge, "%d parts: at most %d", len(r.Parts), MaxSplitParts)
	}
	if len(r.Names) > 0 && len(r.Names) != len(r.Parts) {
		return Errorf(ErrInvalid, "%d names for %d parts", len(r.Names), len(r.Parts))
	}
	for _, n := range r.Names {
		if len(n) > MaxZoneNameLength {
			return Errorf(ErrInvalid, "part name is longer than %d bytes", MaxZoneNameLength)
		}
	}
	for i, p := range r.Parts {
		if err := CheckGeometryJSON(p); err != nil {
			return Errorf(Kind(err), "part %d: %s", i+1, Message(err))
		}
	}
	return nil
}

// ZoneRef names a version of a zone.
type ZoneRef struct {
	ID      int64 `json:"id"`
	Version int   `json:"version"`
}

// MergeRequest merges active zones of one county into a new zone.
type MergeRequest struct {
	Zones  []ZoneRef `json:"zones"`
	Name   string    `json:"name,omitempty"`
	Reason string    `json:"reason"`
}

// Validate checks the request before anything is read.
func (r MergeRequest) Validate() error {
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if len(r.Zones) < 2 {
		return Errorf(ErrInvalid, "a merge needs at least two zones, got %d", len(r.Zones))
	}
	if len(r.Zones) > MaxMergeZones {
		return Errorf(ErrTooLarge, "%d zones: at most %d", len(r.Zones), MaxMergeZones)
	}
	if len(r.Name) > MaxZoneNameLength {
		return Errorf(ErrInvalid, "name is longer than %d bytes", MaxZoneNameLength)
	}
	seen := map[int64]bool{}
	for _, z := range r.Zones {
		if z.ID <= 0 {
			return Errorf(ErrInvalid, "zone id %d is not a positive number", z.ID)
		}
		if z.Version < 1 {
			return Errorf(ErrInvalid, "zone %d: give the version you merge (a positive number)", z.ID)
		}
		if seen[z.ID] {
			return Errorf(ErrInvalid, "zone %d is given twice", z.ID)
		}
		seen[z.ID] = true
	}
	return nil
}

// LiftRequest lifts an active zone. Override (admins only, with a written
// reason of at least 10 characters) lifts a zone the rule does not yet allow.
type LiftRequest struct {
	// Version, when given, must be the current version.
	Version  int    `json:"version,omitempty"`
	Reason   string `json:"reason"`
	Override bool   `json:"override,omitempty"`
}

// Validate checks the request before anything is read.
func (r LiftRequest) Validate() error {
	if err := checkVersion(r.Version); err != nil {
		return err
	}
	if err := checkReason(r.Reason); err != nil {
		return err
	}
	if r.Override && len([]rune(strings.TrimSpace(r.Reason))) < minOverrideReason {
		return Errorf(ErrInvalid, "an override needs a written reason of at least %d characters", minOverrideReason)
	}
	return nil
}

// Screening is one nucleic-acid screening round of a zone.
type Screening struct {
	ID         int64     `json:"id"`
	ZoneID     int64     `json:"zone_id"`
	RoundDate  Date      `json:"round_date"`
	Population int       `json:"population"`
	Tested     int       `json:"tested"`
	Negatives  int       `json:"negatives"`
	Positives  int       `json:"positives"`
	RecordedBy *int64    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// NewScreening records a round. Population defaults to the zone's.
type NewScreening struct {
	RoundDate  string `json:"round_date"`
	Population *int   `json:"population,omitempty"`
	Tested     int    `json:"tested"`
	Negatives  int    `json:"negatives"`
	Positives  int    `json:"positives"`
}

// Validate checks the round; today is the current day of the county.
func (s NewScreening) Validate(today Date) (Date, error) {
	d, err := ParseDay("round_date", s.RoundDate)
	if err != nil {
		return Date{}, err
	}
	if d.After(today) {
		return Date{}, Errorf(ErrInvalid, "round_date %s is in the future", s.RoundDate)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"tested", s.Tested}, {"negatives", s.Negatives}, {"positives", s.Positives}} {
		if f.v < 0 || f.v > maxScreeningPeople {
			return Date{}, Errorf(ErrInvalid, "%s %d: want 0 to %d", f.name, f.v, maxScreeningPeople)
		}
	}
	if s.Population != nil && (*s.Population < 0 || *s.Population > maxScreeningPeople) {
		return Date{}, Errorf(ErrInvalid, "population %d: want 0 to %d", *s.Population, maxScreeningPeople)
	}
	if s.Negatives+s.Positives > s.Tested {
		return Date{}, Errorf(ErrInvalid, "negatives (%d) + positives (%d) exceed tested (%d)", s.Negatives, s.Positives, s.Tested)
	}
	return d, nil
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

func checkReason(r string) error {
	if strings.TrimSpace(r) == "" {
		return Errorf(ErrInvalid, "a reason is required: every change of a zone is a legal act and records why")
	}
	if len(r) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return nil
}

func checkVersion(v int) error {
	if v < 0 {
		return Errorf(ErrInvalid, "version %d: want a positive number", v)
	}
	return nil
}

func hasJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// CheckGeometryJSON checks a drawn zone geometry before PostGIS sees it: a
// GeoJSON Polygon or MultiPolygon (RFC 7946) with finite lon/lat positions
// in range and closed rings of at least four positions. Validity (no
// self-intersection) is checked by PostGIS, which says where it fails.
func CheckGeometryJSON(raw json.RawMessage) error {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
		CRS         json.RawMessage `json:"crs"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return Errorf(ErrInvalid, "geometry: want a GeoJSON object: %v", err)
	}
	if hasJSON(g.CRS) {
		return Errorf(ErrInvalid, "geometry: a crs member is not allowed: coordinates are WGS 84 lon/lat (RFC 7946)")
	}
	var polys [][][][]float64
	switch g.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			return Errorf(ErrInvalid, "geometry: Polygon coordinates: want an array of rings of [lon, lat] positions")
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return Errorf(ErrInvalid, "geometry: MultiPolygon coordinates: want an array of polygons of rings of [lon, lat] positions")
		}
	case "":
		return Errorf(ErrInvalid, "geometry: the type is missing: want Polygon or MultiPolygon")
	default:
		return Errorf(ErrInvalid, "geometry type %q: want Polygon or MultiPolygon", g.Type)
	}
	if len(polys) == 0 {
		return Errorf(ErrInvalid, "geometry: no polygon")
	}
	n := 0
	for pi, p := range polys {
		if len(p) == 0 {
			return Errorf(ErrInvalid, "geometry: polygon %d has no ring", pi+1)
		}
		for ri, ring := range p {
			if len(ring) < 4 {
				return Errorf(ErrInvalid, "geometry: polygon %d ring %d has %d positions: a ring needs at least 4", pi+1, ri+1, len(ring))
			}
			for qi, pos := range ring {
				n++
				if len(pos) < 2 || len(pos) > 3 {
					return Errorf(ErrInvalid, "geometry: polygon %d ring %d position %d: want [lon, lat]", pi+1, ri+1, qi+1)
				}
				if err := CheckLonLat(pos[0], pos[1]); err != nil {
					return Errorf(ErrInvalid, "geometry: polygon %d ring %d position %d: %s", pi+1, ri+1, qi+1, Message(err))
				}
			}
			first, last := ring[0], ring[len(ring)-1]
			if first[0] != last[0] || first[1] != last[1] {
				return Errorf(ErrInvalid, "geometry: polygon %d ring %d is not closed: the last position must equal the first", pi+1, ri+1)
			}
		}
	}
	if n > MaxGeometryVertex {
		return Errorf(ErrTooLarge, "geometry has %d positions: at most %d", n, MaxGeometryVertex)
	}
	return nil
}
