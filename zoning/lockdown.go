package zoning

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Compound lockdown (封控管理, seed 004): a compound is closed off and its
// ways in are managed — each entrance either physically closed or open with
// someone on duty (出入口管理岗位责任制) — while the compound's residents need
// the same staff as any zone (≥ 1 per rule set's ratio).

// Entrance states and kinds (compound_entrances).
const (
	EntranceOpen   = "open"
	EntranceClosed = "closed"
	KindEntrance   = "entrance"
	KindGate       = "gate"
)

// MaxEntranceStaff bounds the staff at one entrance.
const MaxEntranceStaff = 1000

// MaxEntranceDistanceM is how far from a compound's outline a drawn
// entrance may be.
const MaxEntranceDistanceM = 30

// Entrance is a way into a compound.
type Entrance struct {
	ID         int64     `json:"id"`
	CompoundID *int64    `json:"compound_id"`
	Name       string    `json:"name,omitempty"`
	Kind       string    `json:"kind"`
	Source     string    `json:"source"`
	SourceID   string    `json:"source_id,omitempty"`
	Lon        float64   `json:"lon"`
	Lat        float64   `json:"lat"`
	State      string    `json:"state"`
	Staff      int       `json:"staff"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// NewEntrance is an entrance drawn on the map.
type NewEntrance struct {
	Name   string  `json:"name,omitempty"`
	Kind   string  `json:"kind,omitempty"` // default entrance
	Lon    float64 `json:"lon"`
	Lat    float64 `json:"lat"`
	State  string  `json:"state,omitempty"` // default open
	Staff  int     `json:"staff,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// Validate checks a drawn entrance and fills its defaults.
func (e *NewEntrance) Validate() error {
	if e.Kind == "" {
		e.Kind = KindEntrance
	}
	if e.State == "" {
		e.State = EntranceOpen
	}
	if e.Kind != KindEntrance && e.Kind != KindGate {
		return Errorf(ErrInvalid, "kind %q: want entrance or gate", e.Kind)
	}
	if err := checkEntrance(e.State, e.Staff); err != nil {
		return err
	}
	if len(e.Name) > 200 || !utf8.ValidString(e.Name) || strings.ContainsAny(e.Name, "\x00\r\n") {
		return Errorf(ErrInvalid, "entrance name: want at most 200 bytes of plain text")
	}
	if len(e.Reason) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return CheckLonLat(e.Lon, e.Lat)
}

func checkEntrance(state string, staff int) error {
	if state != EntranceOpen && state != EntranceClosed {
		return Errorf(ErrInvalid, "state %q: want open or closed", state)
	}
	if staff < 0 || staff > MaxEntranceStaff {
		return Errorf(ErrInvalid, "staff %d: want 0 to %d", staff, MaxEntranceStaff)
	}
	return nil
}

// EntranceEdit opens or closes an entrance or changes its staff.
type EntranceEdit struct {
	State  *string `json:"state,omitempty"`
	Staff  *int    `json:"staff,omitempty"`
	Reason string  `json:"reason"`
}

// Apply checks the edit and answers the edited entrance.
func (x EntranceEdit) Apply(e Entrance) (Entrance, error) {
	if strings.TrimSpace(x.Reason) == "" {
		return e, Errorf(ErrInvalid, "reason is missing: say why the entrance changes")
	}
	if len(x.Reason) > MaxReasonLength {
		return e, Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	if x.State == nil && x.Staff == nil {
		return e, Errorf(ErrInvalid, "nothing to change: give state or staff")
	}
	if x.State != nil {
		e.State = *x.State
	}
	if x.Staff != nil {
		e.Staff = *x.Staff
	}
	return e, checkEntrance(e.State, e.Staff)
}

// CompoundLockdown is a compound as a lockdown sees it.
type CompoundLockdown struct {
	CompoundID int64  `json:"compound_id"`
	Name       string `json:"name"`
	// BBox is the compound's extent: minlon, minlat, maxlon, maxlat.
	BBox          [4]float64 `json:"bbox"`
	Buildings     int        `json:"buildings"`
	Residents     int        `json:"residents"`
	StaffRequired int        `json:"staff_required"`
	Entrances     []Entrance `json:"entrances"`
	Open          int        `json:"open"`
	Closed        int        `json:"closed"`
	EntranceStaff int        `json:"entrance_staff"`
	// Unmanned are the open entrances nobody is on duty at.
	Unmanned []int64 `json:"unmanned"`
	// Problems say in words (English) what keeps the lockdown from being
	// managed; ProblemCodes name them for a translation: no_entrance,
	// all_closed, unmanned, understaffed.
	Problems     []string `json:"problems"`
	ProblemCodes []string `json:"problem_codes"`
}

// Assess counts the entrances and lists what is not managed: no entrance
// known at all, an open entrance without staff, every entrance closed (the
// residents need a way for supplies and emergencies), and fewer staff than
// the residents need.
func (l *CompoundLockdown) Assess() {
	l.Open, l.Closed, l.EntranceStaff = 0, 0, 0
	l.Unmanned, l.Problems, l.ProblemCodes = []int64{}, []string{}, []string{}
	add := func(code, text string) {
		l.ProblemCodes, l.Problems = append(l.ProblemCodes, code), append(l.Problems, text)
	}
	for _, e := range l.Entrances {
		l.EntranceStaff += e.Staff
		if e.State == EntranceClosed {
			l.Closed++
			continue
		}
		l.Open++
		if e.Staff == 0 {
			l.Unmanned = append(l.Unmanned, e.ID)
		}
	}
	switch {
	case len(l.Entrances) == 0:
		add("no_entrance", "no entrance is known: draw the compound's entrances")
	case l.Open == 0:
		add("all_closed", "every entrance is closed: keep one open and staffed for supplies and emergencies")
	}
	if len(l.Unmanned) > 0 {
		add("unmanned", fmt.Sprintf("%d open entrance(s) with nobody on duty", len(l.Unmanned)))
	}
	if l.EntranceStaff < l.StaffRequired {
		add("understaffed", fmt.Sprintf("%d staff at the entrances, %d required for %d residents", l.EntranceStaff, l.StaffRequired, l.Residents))
	}
}
