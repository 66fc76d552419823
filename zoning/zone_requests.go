package zoning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

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
	Reason string `json:"reason"`
	Name   string `json:"name,omitempty"`
	// Level is the zone's risk level, a level of the county's rule set other
	// than its lowest (e.g. medium under the 2022-06 rules); "" keeps the
	// proposal's.
	Level    string          `json:"level,omitempty"`
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
	if len(r.Level) > 32 {
		return Errorf(ErrInvalid, "level is longer than 32 bytes")
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
	// ZoneVersion and ZonePopulation are the zone's version when the round
	// was recorded and its population then: what the round had to cover.
	ZoneVersion    int `json:"zone_version,omitempty"`
	ZonePopulation int `json:"zone_population,omitempty"`
	// Partial marks a round recorded with less than the zone's population
	// (fewer tested, or a smaller entered population), kept only with
	// PartialReason. A partial round never makes a zone eligible.
	Partial       bool   `json:"partial_coverage"`
	PartialReason string `json:"partial_reason,omitempty"`
	// PopulationEstimated: Population is the zone's estimated population
	// (the importer's, see ZoneVersion.PopulationEstimated), not a count.
	PopulationEstimated bool `json:"population_estimated"`
}

// NewScreening records a round. Population defaults to the zone's. A round
// covers the zone's population at its current version: one that tested
// fewer (or entered a smaller population) is refused unless PartialReason
// says why, and is then recorded as partial coverage (see Coverage).
type NewScreening struct {
	RoundDate     string `json:"round_date"`
	Population    *int   `json:"population,omitempty"`
	Tested        int    `json:"tested"`
	Negatives     int    `json:"negatives"`
	Positives     int    `json:"positives"`
	PartialReason string `json:"partial_reason,omitempty"`
}

// maxPartialReason bounds the reason of a partial round (bytes).
const maxPartialReason = 1000

// Coverage judges the round against the population of zone zoneID at
// version: the population the round covers (the entered one, else the
// zone's) and whether it is partial. A partial round without a reason is
// refused. A reason given for a round that covers everyone is not kept.
func (s NewScreening) Coverage(zoneID int64, version, zonePopulation int) (population int, partial bool, reason string, err error) {
	population = zonePopulation
	if s.Population != nil {
		population = *s.Population
	}
	reason = strings.TrimSpace(s.PartialReason)
	var short []string
	if population < zonePopulation {
		short = append(short, fmt.Sprintf("the entered population %d is smaller than the zone's %d", population, zonePopulation))
	}
	if need := max(population, zonePopulation); s.Tested < need {
		short = append(short, fmt.Sprintf("%d of %d residents were tested", s.Tested, need))
	}
	if len(short) == 0 {
		return population, false, "", nil
	}
	if reason == "" {
		return 0, false, "", Errorf(ErrInvalid, "a screening round covers everyone in zone %d (population %d at version %d), but %s: "+
			"record the whole round, or give partial_reason to keep it as partial coverage (a partial round never makes the zone eligible for lifting)",
			zoneID, zonePopulation, version, strings.Join(short, " and "))
	}
	return population, true, reason, nil
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
	if len(s.PartialReason) > maxPartialReason {
		return Date{}, Errorf(ErrInvalid, "partial_reason is longer than %d bytes", maxPartialReason)
	}
	if s.Negatives+s.Positives > s.Tested {
		return Date{}, Errorf(ErrInvalid, "negatives (%d) + positives (%d) exceed tested (%d)", s.Negatives, s.Positives, s.Tested)
	}
	return d, nil
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
