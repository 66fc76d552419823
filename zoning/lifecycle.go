package zoning

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The zone lifecycle (SPEC §4): proposed -> active (approved) -> lifted;
// proposed -> rejected. An active zone is adjusted (geometry or member set),
// extended (a new counted infection moves its clock), split (parts with
// their own clocks) or merged. Every change is a new immutable version. The
// rules that need no database live here; the store applies them.

// MembershipShare is the membership rule of drawn zones, the same as the
// proposal engine's default (ProposeParams.MembershipShare): a building
// belongs to a zone when the zone covers at least half of its footprint
// (share >= 0.5); it is then wholly inside, and otherwise wholly outside.
// The saved geometry is adjusted to match: member footprints are added in
// full and the footprints of touched non-members are cut out, so a zone
// boundary never runs through a building. A building exactly half inside
// belongs to the zone (the safer side for epidemic control).
func MembershipShare() float64 { return DefaultProposeParams().MembershipShare }

// ChinaTime is the default calendar of zone clocks: China Standard Time,
// UTC+8 all year (no daylight saving). Report dates, designation dates and
// screening rounds are days of this calendar.
func ChinaTime() *time.Location { return time.FixedZone("UTC+8", 8*60*60) }

// LiftingStatus says whether a high-risk zone may be lifted (SPEC §2
// "Lifting") and why.
type LiftingStatus struct {
	// ZoneID, Version and ZoneStatus name the zone judged (set by the store).
	ZoneID            int64  `json:"zone_id,omitempty"`
	Version           int    `json:"version,omitempty"`
	ZoneStatus        string `json:"zone_status,omitempty"`
	RuleSetID         string `json:"rule_set_id"`
	CleanDays         int    `json:"clean_days"`
	ScreeningRequired bool   `json:"screening_required"`
	Today             Date   `json:"today"`
	// LastInfection is L: the report date of the last counted infection in
	// the zone, or the designation date if later, or the date of the latest
	// screening round with a positive result if later still.
	LastInfection Date   `json:"last_infection"`
	ClockReason   string `json:"clock_reason"`
	// EarliestLifting is day N = L + clean days.
	EarliestLifting Date `json:"earliest_lifting"`
	// CleanStreakDays is the number of days since L (0 on day L).
	CleanStreakDays int `json:"clean_streak_days"`
	// DayNScreening is the round dated day N that was judged, if any.
	DayNScreening   *Screening `json:"day_n_screening"`
	DayNCoveredAll  bool       `json:"day_n_covered_all"`
	DayNAllNegative bool       `json:"day_n_all_negative"`
	Eligible        bool       `json:"eligible"`
	// Reasons explain the verdict: why the zone is eligible, or every rule
	// it does not meet yet.
	Reasons []string `json:"reasons"`
}

// EvaluateLifting applies the lifting rule of a rule set to a zone whose
// clock stands at last (L), given its screening rounds, on day today.
//
// A positive result in a round is a new infection on the round's date: it
// moves L. Day N is L + rules.CleanDays. The zone is eligible from day N on
// if, when the rule set requires screening, a round dated exactly day N
// tested its whole population (tested >= population, and not recorded as
// partial coverage) with every result in
// and negative (positives = 0, negatives = tested). Rounds on other days do
// not count: the plan asks for the screening on the last day of the clean
// period. A zone that missed it waits for an admin override (with a written
// reason) or for a new clock.
func EvaluateLifting(rules RuleSet, last Date, screenings []Screening, today Date) LiftingStatus {
	st := LiftingStatus{RuleSetID: rules.ID, CleanDays: rules.CleanDays, ScreeningRequired: rules.ScreeningRequired,
		Today: today, LastInfection: last, Reasons: []string{}}
	rounds := slices.Clone(screenings)
	slices.SortStableFunc(rounds, func(a, b Screening) int { return a.RoundDate.Time.Compare(b.RoundDate.Time) })
	for _, s := range rounds {
		if s.Positives > 0 && s.RoundDate.After(st.LastInfection) && !s.RoundDate.After(today) {
			st.LastInfection = s.RoundDate
			st.ClockReason = fmt.Sprintf("screening round on %s found %d positive(s)", s.RoundDate, s.Positives)
		}
	}
	l := st.LastInfection
	st.EarliestLifting = l.AddDays(rules.CleanDays)
	st.CleanStreakDays = max(0, today.DaysSince(l))
	dayN := st.EarliestLifting

	// The round judged: a qualifying round dated day N if there is one, else
	// the one that came closest (most tested).
	var judged *Screening
	for i := range rounds {
		s := rounds[i]
		if !s.RoundDate.Time.Equal(dayN.Time) {
			continue
		}
		if judged == nil || roundQualifies(s) && !roundQualifies(*judged) || roundQualifies(s) == roundQualifies(*judged) && s.Tested > judged.Tested {
			judged = &s
		}
	}
	if judged != nil {
		st.DayNScreening = judged
		st.DayNCoveredAll = !judged.Partial && judged.Tested >= judged.Population
		st.DayNAllNegative = judged.Positives == 0 && judged.Negatives >= judged.Tested
	}

	waited := !today.Before(dayN)
	if !waited {
		st.Reasons = append(st.Reasons, fmt.Sprintf("%d of %d clean days since the last infection on %s; the earliest lifting date is %s",
			st.CleanStreakDays, rules.CleanDays, l, dayN))
	}
	screened := !rules.ScreeningRequired || (judged != nil && st.DayNCoveredAll && st.DayNAllNegative)
	if rules.ScreeningRequired {
		switch {
		case judged == nil && waited:
			st.Reasons = append(st.Reasons, fmt.Sprintf("no screening round dated %s (day %d after the last infection): rounds on other days do not count",
				dayN, rules.CleanDays))
		case judged == nil:
			st.Reasons = append(st.Reasons, fmt.Sprintf("a screening round of everyone in the zone is due on %s (day %d)", dayN, rules.CleanDays))
		default:
			if judged.Partial {
				st.Reasons = append(st.Reasons, fmt.Sprintf("the round on %s was recorded as partial coverage (%s): a partial round never makes the zone eligible",
					dayN, judged.PartialReason))
			}
			if judged.Tested < judged.Population {
				st.Reasons = append(st.Reasons, fmt.Sprintf("the round on %s tested %d of %d residents (%s): everyone must be tested",
					dayN, judged.Tested, judged.Population, percent(judged.Tested, judged.Population)))
			}
			if judged.Negatives < judged.Tested && judged.Positives == 0 {
				st.Reasons = append(st.Reasons, fmt.Sprintf("%d results of the round on %s are not in yet", judged.Tested-judged.Negatives, dayN))
			}
		}
	}
	if st.ClockReason != "" {
		st.Reasons = append(st.Reasons, fmt.Sprintf("the clock restarted on %s: the %s", l, st.ClockReason))
	}
	st.Eligible = waited && screened
	if st.Eligible {
		why := fmt.Sprintf("%d clean days since the last infection on %s", st.CleanStreakDays, l)
		if rules.ScreeningRequired {
			why += fmt.Sprintf(", and the round on %s tested all %d residents, all negative", dayN, judged.Population)
		}
		st.Reasons = []string{why + ": the zone qualifies and must be lifted promptly"}
	}
	return st
}

func roundQualifies(s Screening) bool {
	return !s.Partial && s.Tested >= s.Population && s.Positives == 0 && s.Negatives >= s.Tested
}

func percent(n, of int) string {
	if of <= 0 {
		return "100%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// LastInfection is L for a zone designated on designated whose counted
// infections were reported on the given dates: the latest of them all.
func LastInfection(designated Date, reports ...Date) Date {
	l := designated
	for _, r := range reports {
		if r.After(l) {
			l = r
		}
	}
	return l
}

// ExtendClock moves a zone's clock for a new counted case reported on
// report: L becomes the report date when later. It returns the new clock,
// its reason, and whether it moved (a case reported on or before L does not
// move it).
func ExtendClock(cur Date, caseID int64, report Date) (Date, string, bool) {
	if !report.After(cur) {
		return cur, "", false
	}
	return report, fmt.Sprintf("new counted case %d reported on %s", caseID, report), true
}

// MergeClock is the clock of a zone merged from parents: the latest L of
// them (the merged zone must wait for its most recently infected part),
// with a reason naming the parent it came from.
func MergeClock(parents []ZoneVersion) (Date, string) {
	if len(parents) == 0 {
		return Date{}, ""
	}
	best := parents[0]
	ids := make([]string, 0, len(parents))
	for _, p := range parents {
		ids = append(ids, fmt.Sprint(p.ZoneID))
		if p.ClockStart.After(best.ClockStart) {
			best = p
		}
	}
	reason := fmt.Sprintf("merged from zones %s: the latest clock, of zone %d, is kept", strings.Join(ids, ", "), best.ZoneID)
	if best.ClockReason != "" {
		reason += " (" + best.ClockReason + ")"
	}
	return best.ClockStart, reason
}

// MostSevereLevel returns, of the given level codes, the one listed first
// in the rule set (levels run from most to least severe). Unknown codes rank
// last; with none known the first code is returned.
func MostSevereLevel(rules RuleSet, codes []string) string {
	best, rank := "", len(rules.Levels)+1
	for _, c := range codes {
		r := slices.IndexFunc(rules.Levels, func(l Level) bool { return l.Code == c })
		if r < 0 {
			r = len(rules.Levels)
		}
		if r < rank {
			best, rank = c, r
		}
	}
	return best
}

// ClockEvent is a dated infection that can hold a zone's clock: a counted
// case or a screening round with positives, with the words that say so.
type ClockEvent struct {
	Day Date
	Why string
}

// RecomputeClock is L of a zone whose members changed (adjust, split): the
// latest of the designation date and the events of its new member set
// (SPEC §4, "一区一策"). It may move the clock back — a removed building
// takes its cases out — but never before the designation. The reason names
// what holds the clock.
func RecomputeClock(designated Date, events ...ClockEvent) (Date, string) {
	l, why := designated, fmt.Sprintf("designated on %s; no later counted infection among its members", designated)
	for _, e := range events {
		if e.Day.After(l) {
			l, why = e.Day, e.Why
		}
	}
	return l, why
}
