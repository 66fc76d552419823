package zoning

import (
	"fmt"
	"time"
)

// Level is one risk level of a rule set, most severe first.
type Level struct {
	Code       string `json:"code"`
	NameZh     string `json:"name_zh"`
	NameEn     string `json:"name_en"`
	MeasuresZh string `json:"measures_zh"`
	MeasuresEn string `json:"measures_en"`
}

// RuleSet is a named edition of the national rules (SPEC §2 "Rules are
// data"): its levels, the clean days before lifting, whether a screening
// round on the last day is required, and the staffing ratio.
type RuleSet struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Edition           time.Time `json:"edition"`
	Levels            []Level   `json:"levels"`
	CleanDays         int       `json:"clean_days"`
	ScreeningRequired bool      `json:"screening_required"`
	StaffRatio        int       `json:"staff_ratio"`
	FinestGranularity string    `json:"finest_granularity"`
	DefaultLevel      string    `json:"default_level"`
	// Enlargement bounds how far the engine enlarges a spread cluster
	// (rule_sets.enlargement; zero fields are the defaults).
	Enlargement EnlargementBounds `json:"enlargement"`
	// ClosedLoop are the limits of the contacts' four steps
	// (rule_sets.closed_loop); QuarantineRoomsPer10k the rooms a county
	// keeps per 10,000 residents; QuarantineRoomsPerStaff the rooms one
	// site worker looks after.
	ClosedLoop              ClosedLoopLimits `json:"closed_loop"`
	QuarantineRoomsPer10k   int              `json:"quarantine_rooms_per_10k"`
	QuarantineRoomsPerStaff int              `json:"quarantine_rooms_per_staff"`
}

// StaffRequired is the number of workers a zone of the given population
// needs: ceil(population / StaffRatio) (SPEC §2 "Staffing").
func (r RuleSet) StaffRequired(population int) int {
	if population <= 0 || r.StaffRatio <= 0 {
		return 0
	}
	return (population + r.StaffRatio - 1) / r.StaffRatio
}

// Level returns the level with the given code.
func (r RuleSet) Level(code string) (Level, error) {
	for _, l := range r.Levels {
		if l.Code == code {
			return l, nil
		}
	}
	return Level{}, Errorf(ErrInvalid, "rule set %s has no level %q", r.ID, code)
}

// Validate checks that the rule set is usable.
func (r RuleSet) Validate() error {
	switch {
	case len(r.Levels) < 2:
		return fmt.Errorf("rule set %s: %w", r.ID, Errorf(ErrInvalid, "needs at least two levels"))
	case r.CleanDays < 1:
		return fmt.Errorf("rule set %s: %w", r.ID, Errorf(ErrInvalid, "clean_days must be at least 1"))
	case r.StaffRatio < 1:
		return fmt.Errorf("rule set %s: %w", r.ID, Errorf(ErrInvalid, "staff_ratio must be at least 1"))
	}
	if _, err := r.Level(r.DefaultLevel); err != nil {
		return err
	}
	if err := r.Enlargement.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("rule set %s: %w", r.ID, err)
	}
	return nil
}
