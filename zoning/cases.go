package zoning

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Residence says where a case lives: a unit, else a building, else an
// address, else a point (snapped to the building that contains it or the
// nearest one within the snap limit).
type Residence struct {
	UnitID     *int64   `json:"unit_id,omitempty"`
	BuildingID *int64   `json:"building_id,omitempty"`
	Address    string   `json:"address,omitempty"`
	Lon        *float64 `json:"lon,omitempty"`
	Lat        *float64 `json:"lat,omitempty"`
}

// Exclusion records why a case does not count for zoning (SPEC §2).
type Exclusion struct {
	Category   string `json:"category"`
	Assessment string `json:"assessment"`
}

// NewCase is a case as an epidemiologist registers it.
type NewCase struct {
	CaseNo      string     `json:"case_no"`
	CountyID    int64      `json:"county_id"`
	Kind        string     `json:"kind"`
	ReportDate  string     `json:"report_date"`
	OnsetDate   string     `json:"onset_date,omitempty"`
	Residence   Residence  `json:"residence"`
	SourceKnown *bool      `json:"source_known,omitempty"`
	Exclusion   *Exclusion `json:"exclusion,omitempty"`
	Traces      []NewTrace `json:"traces,omitempty"`
}

// CaseKinds are the kinds of infection.
var CaseKinds = []string{"confirmed", "asymptomatic"}

// TraceActivities are the kinds of activity a trace records.
var TraceActivities = []string{"work", "shopping", "dining", "leisure", "school", "medical", "transport", "other"}

var caseNoPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`)

// Validate checks a new case before anything is read or written. today is
// the current day in the county's calendar (a report dated today is never
// in the future, whatever the UTC day).
func (c NewCase) Validate(today Date) error {
	if !caseNoPattern.MatchString(c.CaseNo) {
		return Errorf(ErrInvalid, "case_no %q: want 1-64 letters, digits, '.', '_', '/' or '-'", c.CaseNo)
	}
	if c.CountyID <= 0 {
		return Errorf(ErrInvalid, "county_id is missing")
	}
	if !slices.Contains(CaseKinds, c.Kind) {
		return Errorf(ErrInvalid, "kind %q: want confirmed or asymptomatic", c.Kind)
	}
	report, err := ParseDate("report_date", c.ReportDate)
	if err != nil {
		return err
	}
	if (Date{report}).After(today) {
		return Errorf(ErrInvalid, "report_date %s is in the future", c.ReportDate)
	}
	if c.OnsetDate != "" {
		onset, err := ParseDate("onset_date", c.OnsetDate)
		if err != nil {
			return err
		}
		if onset.After(report) {
			return Errorf(ErrInvalid, "onset_date %s is after report_date %s", c.OnsetDate, c.ReportDate)
		}
	}
	if err := c.Residence.Validate(); err != nil {
		return err
	}
	if c.Exclusion != nil {
		if err := c.Exclusion.Validate(); err != nil {
			return err
		}
	}
	for i, t := range c.Traces {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("trace %d: %w", i+1, err)
		}
	}
	return nil
}

// Validate checks that a residence names at least one way to find it.
func (r Residence) Validate() error {
	if (r.Lon == nil) != (r.Lat == nil) {
		return Errorf(ErrInvalid, "residence: lon and lat go together")
	}
	if r.Lon != nil {
		if err := CheckLonLat(*r.Lon, *r.Lat); err != nil {
			return fmt.Errorf("residence: %w", err)
		}
	}
	if r.UnitID == nil && r.BuildingID == nil && strings.TrimSpace(r.Address) == "" && r.Lon == nil {
		return Errorf(ErrInvalid, "residence: give a unit_id, a building_id, an address or lon/lat")
	}
	if len(r.Address) > 300 {
		return Errorf(ErrInvalid, "residence address is longer than 300 bytes")
	}
	return nil
}

// Validate checks an exclusion's category and assessment.
func (e Exclusion) Validate() error {
	if !slices.Contains(ExclusionCategories, e.Category) {
		return Errorf(ErrInvalid, "exclusion category %q: want one of %s", e.Category, strings.Join(ExclusionCategories, ", "))
	}
	if strings.TrimSpace(e.Assessment) == "" {
		return Errorf(ErrInvalid, "exclusion %s needs the assessment (why the case has no spread risk outside)", e.Category)
	}
	return nil
}

// CheckLonLat refuses coordinates out of range or not finite.
func CheckLonLat(lon, lat float64) error {
	if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return Errorf(ErrInvalid, "coordinates (%g, %g) out of range: lon must be in [-180, 180] and lat in [-90, 90]", lon, lat)
	}
	return nil
}

// ParseDate parses a YYYY-MM-DD date.
func ParseDate(field, s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, Errorf(ErrInvalid, "%s %q: want a date as YYYY-MM-DD", field, s)
	}
	return d, nil
}

// NewTrace is an activity trace of a case: a place, a building or a point,
// with a time window.
type NewTrace struct {
	PlaceID    *int64    `json:"place_id,omitempty"`
	BuildingID *int64    `json:"building_id,omitempty"`
	Lon        *float64  `json:"lon,omitempty"`
	Lat        *float64  `json:"lat,omitempty"`
	Activity   string    `json:"activity,omitempty"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Enclosed   *bool     `json:"enclosed,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// Validate checks a trace.
func (t NewTrace) Validate() error {
	if t.PlaceID == nil && t.BuildingID == nil && t.Lon == nil {
		return Errorf(ErrInvalid, "a trace needs a place_id, a building_id or lon/lat")
	}
	if (t.Lon == nil) != (t.Lat == nil) {
		return Errorf(ErrInvalid, "trace: lon and lat go together")
	}
	if t.Lon != nil {
		if err := CheckLonLat(*t.Lon, *t.Lat); err != nil {
			return fmt.Errorf("trace: %w", err)
		}
	}
	if t.StartsAt.IsZero() || t.EndsAt.IsZero() {
		return Errorf(ErrInvalid, "trace: starts_at and ends_at are required (RFC 3339)")
	}
	if t.EndsAt.Before(t.StartsAt) {
		return Errorf(ErrInvalid, "trace: ends_at is before starts_at")
	}
	if t.Activity != "" && !slices.Contains(TraceActivities, t.Activity) {
		return Errorf(ErrInvalid, "trace activity %q: want one of %s", t.Activity, strings.Join(TraceActivities, ", "))
	}
	if len(t.Note) > 1000 {
		return Errorf(ErrInvalid, "trace note is longer than 1000 bytes")
	}
	return nil
}

// Case is a registered case (restricted health data).
type Case struct {
	ID                  int64      `json:"id"`
	CaseNo              string     `json:"case_no"`
	CountyID            int64      `json:"county_id"`
	Kind                string     `json:"kind"`
	ReportDate          string     `json:"report_date"`
	OnsetDate           string     `json:"onset_date,omitempty"`
	ResidenceUnitID     *int64     `json:"residence_unit_id,omitempty"`
	ResidenceBuildingID *int64     `json:"residence_building_id,omitempty"`
	ResidenceAddress    string     `json:"residence_address,omitempty"`
	ResidenceLon        *float64   `json:"residence_lon,omitempty"`
	ResidenceLat        *float64   `json:"residence_lat,omitempty"`
	SnapDistanceM       *float64   `json:"residence_snap_m,omitempty"`
	SourceKnown         bool       `json:"source_known"`
	H3Cell              string     `json:"h3_r11,omitempty"`
	Exclusion           *Exclusion `json:"exclusion,omitempty"`
	ExcludedBy          *int64     `json:"excluded_by,omitempty"`
	ExcludedAt          *time.Time `json:"excluded_at,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// Trace is a stored trace.
type Trace struct {
	ID         int64     `json:"id"`
	CaseID     int64     `json:"case_id"`
	PlaceID    *int64    `json:"place_id,omitempty"`
	BuildingID *int64    `json:"building_id,omitempty"`
	Lon        *float64  `json:"lon,omitempty"`
	Lat        *float64  `json:"lat,omitempty"`
	Activity   string    `json:"activity"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Enclosed   *bool     `json:"enclosed,omitempty"`
	H3Cell     string    `json:"h3_r11,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// CaseUpdate changes a case; nil fields stay as they are. ClearExclusion
// removes an exclusion (the case counts again).
type CaseUpdate struct {
	Kind           *string    `json:"kind,omitempty"`
	ReportDate     *string    `json:"report_date,omitempty"`
	OnsetDate      *string    `json:"onset_date,omitempty"`
	Residence      *Residence `json:"residence,omitempty"`
	SourceKnown    *bool      `json:"source_known,omitempty"`
	Exclusion      *Exclusion `json:"exclusion,omitempty"`
	ClearExclusion bool       `json:"clear_exclusion,omitempty"`
	Reason         string     `json:"reason"`
}

// Validate checks an update.
func (u CaseUpdate) Validate(today Date) error {
	if u.Kind != nil && !slices.Contains(CaseKinds, *u.Kind) {
		return Errorf(ErrInvalid, "kind %q: want confirmed or asymptomatic", *u.Kind)
	}
	if u.ReportDate != nil {
		d, err := ParseDay("report_date", *u.ReportDate)
		if err != nil {
			return err
		}
		if d.After(today) {
			return Errorf(ErrInvalid, "report_date %s is in the future", *u.ReportDate)
		}
	}
	if u.OnsetDate != nil && *u.OnsetDate != "" {
		if _, err := ParseDate("onset_date", *u.OnsetDate); err != nil {
			return err
		}
	}
	if u.Residence != nil {
		if err := u.Residence.Validate(); err != nil {
			return err
		}
	}
	if u.Exclusion != nil {
		if u.ClearExclusion {
			return Errorf(ErrInvalid, "give either exclusion or clear_exclusion, not both")
		}
		if err := u.Exclusion.Validate(); err != nil {
			return err
		}
	}
	if strings.TrimSpace(u.Reason) == "" {
		return Errorf(ErrInvalid, "a reason for the change is required")
	}
	return nil
}

// unitNumerals are the Chinese numerals of unit names (一单元 .. 九十九单元 is
// more than any building has; 1-20 cover real stairwells).
var unitNumerals = []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
	"十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"}

var addressPattern = regexp.MustCompile(`^(.*?)([0-9]+)(?:号楼|栋|幢|号)(?:([一二三四五六七八九十]+|[0-9]+)单元)?`)

// ParsedAddress is a residence address split into the parts used to find the
// building: the text before the building number (district ... compound), the
// building number and the unit number (0 when absent).
type ParsedAddress struct {
	Prefix string
	Number string
	Unit   int
}

// ParseAddress reads addresses like "城建花园小区73号楼二单元".
func ParseAddress(s string) (ParsedAddress, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, " ", ""))
	m := addressPattern.FindStringSubmatch(s)
	if m == nil || m[1] == "" {
		return ParsedAddress{}, Errorf(ErrInvalid, "address %q: want a compound and a building number, e.g. 城建花园小区73号楼二单元", s)
	}
	p := ParsedAddress{Prefix: m[1], Number: m[2]}
	if m[3] != "" {
		if n := slices.Index(unitNumerals, m[3]); n > 0 {
			p.Unit = n
		} else {
			fmt.Sscanf(m[3], "%d", &p.Unit)
		}
		if p.Unit <= 0 {
			return ParsedAddress{}, Errorf(ErrInvalid, "address %q: unknown unit %q", s, m[3])
		}
	}
	return p, nil
}

// UnitName is the Chinese name of unit n (二单元).
func UnitName(n int) string {
	if n > 0 && n < len(unitNumerals) {
		return unitNumerals[n] + "单元"
	}
	return fmt.Sprintf("%d单元", n)
}
