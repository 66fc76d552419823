package zoning

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Close contacts (密接) and secondary contacts (次密接) are moved in a closed
// loop to centralised quarantine under four "first time" steps (seed 000):
// contact them (联系), visit them at home for a test and environment samples
// (上门), transfer them to a quarantine site (转运), and disinfect where they
// lived (消杀). Contacts are restricted health data like cases: never in a
// public answer, tile, page, export or log line.

// Contact kinds (contacts.kind).
const (
	ContactClose     = "close"     // 密接: a close contact of a case
	ContactSecondary = "secondary" // 次密接: a close contact of a close contact
)

// The closed-loop steps, in the order they are done.
const (
	StepContact   = "contact"   // 第一时间联系
	StepVisit     = "visit"     // 第一时间上门
	StepTransfer  = "transfer"  // 第一时间转运
	StepDisinfect = "disinfect" // 第一时间消杀
)

// ClosedLoopSteps are the four steps in order.
var ClosedLoopSteps = []string{StepContact, StepVisit, StepTransfer, StepDisinfect}

// ClosedLoopLimits are how long after a contact is identified each step
// must be done: rule-set data (rule_sets.closed_loop).
type ClosedLoopLimits struct {
	Contact   Minutes `json:"contact_within_min"`
	Visit     Minutes `json:"visit_within_min"`
	Transfer  Minutes `json:"transfer_within_min"`
	Disinfect Minutes `json:"disinfect_within_min"`
}

// Minutes is a duration given in whole minutes in rule-set JSON.
type Minutes int

// Duration is m as a time.Duration.
func (m Minutes) Duration() time.Duration { return time.Duration(m) * time.Minute }

// DefaultClosedLoopLimits are the limits of a rule set that names none. The
// source documents ask for each step "at the first time" without a number;
// these are the command centre's working targets, to be set per rule set:
// reach the contact within 2 hours of the list arriving, be at the door
// within 4, have them in quarantine within 12 and the home disinfected
// within 24.
var DefaultClosedLoopLimits = ClosedLoopLimits{Contact: 120, Visit: 240, Transfer: 720, Disinfect: 1440}

// Limit is the limit of step.
func (l ClosedLoopLimits) Limit(step string) time.Duration {
	switch step {
	case StepContact:
		return l.Contact.Duration()
	case StepVisit:
		return l.Visit.Duration()
	case StepTransfer:
		return l.Transfer.Duration()
	case StepDisinfect:
		return l.Disinfect.Duration()
	}
	return 0
}

// Validate checks that every limit is positive, at most a week, and that
// the steps' limits do not decrease in their order.
func (l ClosedLoopLimits) Validate() error {
	prev := Minutes(0)
	for _, s := range ClosedLoopSteps {
		m := Minutes(l.Limit(s) / time.Minute)
		if m <= 0 || m > 7*24*60 {
			return Errorf(ErrInvalid, "closed_loop: %s_within_min %d: want 1 to %d minutes", s, m, 7*24*60)
		}
		if m < prev {
			return Errorf(ErrInvalid, "closed_loop: %s_within_min %d is shorter than the step before it (%d): the steps are done in order", s, m, prev)
		}
		prev = m
	}
	return nil
}

// ParseClosedLoopLimits reads a rule set's closed_loop object; an empty
// object or null means the defaults, and a partial object fills the rest
// from them.
func ParseClosedLoopLimits(raw []byte) (ClosedLoopLimits, error) {
	l := DefaultClosedLoopLimits
	if t := strings.TrimSpace(string(raw)); t == "" || t == "null" || t == "{}" {
		return l, nil
	}
	if err := decodeStrict(raw, &l); err != nil {
		return ClosedLoopLimits{}, Errorf(ErrInvalid, "closed_loop: %v", err)
	}
	if err := l.Validate(); err != nil {
		return ClosedLoopLimits{}, err
	}
	return l, nil
}

// decodeStrict decodes one JSON object, refusing unknown fields and
// trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the object")
	}
	return nil
}

// contactNoPattern is the pattern of case numbers: both come from the same lists.
var contactNoPattern = caseNoPattern

// NewContact is a contact as the disease-control list names it. A close
// contact names its case (case_id or case_no); a secondary contact names
// the close contact it came from (via_contact_id or via_contact_no).
type NewContact struct {
	ContactNo    string    `json:"contact_no"`
	CountyID     int64     `json:"county_id"`
	Kind         string    `json:"kind"`
	CaseID       *int64    `json:"case_id,omitempty"`
	CaseNo       string    `json:"case_no,omitempty"`
	ViaContactID *int64    `json:"via_contact_id,omitempty"`
	ViaContactNo string    `json:"via_contact_no,omitempty"`
	IdentifiedAt time.Time `json:"identified_at"`
	LastExposure string    `json:"last_exposure_date,omitempty"`
	Residence    Residence `json:"residence"`
}

// MaxContactClockSkew is how far in the future an identification time may
// be (a clock a little ahead on the client's side).
const MaxContactClockSkew = 5 * time.Minute

// Validate checks a new contact before anything is read. now is the
// current time; today the current day in the county's calendar.
func (c NewContact) Validate(now time.Time, today Date) error {
	if !contactNoPattern.MatchString(c.ContactNo) {
		return Errorf(ErrInvalid, "contact_no %q: want 1-64 letters, digits, '.', '_', '/' or '-'", c.ContactNo)
	}
	if c.CountyID <= 0 {
		return Errorf(ErrInvalid, "county_id is missing")
	}
	ofCase := c.CaseID != nil || c.CaseNo != ""
	ofContact := c.ViaContactID != nil || c.ViaContactNo != ""
	switch c.Kind {
	case ContactClose:
		if !ofCase || ofContact {
			return Errorf(ErrInvalid, "a close contact names its case (case_id or case_no) and no via_contact")
		}
	case ContactSecondary:
		if !ofContact || ofCase {
			return Errorf(ErrInvalid, "a secondary contact names the close contact it came from (via_contact_id or via_contact_no) and no case")
		}
	default:
		return Errorf(ErrInvalid, "kind %q: want close or secondary", c.Kind)
	}
	if c.CaseID != nil && c.CaseNo != "" || c.ViaContactID != nil && c.ViaContactNo != "" {
		return Errorf(ErrInvalid, "give the id or the number of the case or contact, not both")
	}
	if c.CaseNo != "" && !caseNoPattern.MatchString(c.CaseNo) {
		return Errorf(ErrInvalid, "case_no %q: want 1-64 letters, digits, '.', '_', '/' or '-'", c.CaseNo)
	}
	if c.ViaContactNo != "" && !contactNoPattern.MatchString(c.ViaContactNo) {
		return Errorf(ErrInvalid, "via_contact_no %q: want 1-64 letters, digits, '.', '_', '/' or '-'", c.ViaContactNo)
	}
	if c.IdentifiedAt.IsZero() {
		return Errorf(ErrInvalid, "identified_at is missing: when disease control named the contact (RFC 3339)")
	}
	if c.IdentifiedAt.After(now.Add(MaxContactClockSkew)) {
		return Errorf(ErrInvalid, "identified_at %s is in the future", c.IdentifiedAt.Format(time.RFC3339))
	}
	if c.LastExposure != "" {
		d, err := ParseDate("last_exposure_date", c.LastExposure)
		if err != nil {
			return err
		}
		if (Date{d}).After(today) {
			return Errorf(ErrInvalid, "last_exposure_date %s is in the future", c.LastExposure)
		}
	}
	return c.Residence.Validate()
}

// ContactStep is one closed-loop step done.
type ContactStep struct {
	Step   string    `json:"step"`
	DoneAt time.Time `json:"done_at"`
	DoneBy string    `json:"done_by"`
	Note   string    `json:"note,omitempty"`
}

// StepRecord records a step of a contact.
type StepRecord struct {
	Step   string     `json:"step"`
	DoneAt *time.Time `json:"done_at,omitempty"` // default: now
	Note   string     `json:"note,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// Validate checks the record against the contact's steps so far: a known
// step, not done before, its earlier steps done, not before the contact
// was identified nor before the step before it, not in the future.
func (r StepRecord) Validate(c Contact, now time.Time) (time.Time, error) {
	i := slices.Index(ClosedLoopSteps, r.Step)
	if i < 0 {
		return time.Time{}, Errorf(ErrInvalid, "step %q: want one of %s", r.Step, strings.Join(ClosedLoopSteps, ", "))
	}
	if len(r.Note) > 1000 {
		return time.Time{}, Errorf(ErrInvalid, "note is longer than 1000 bytes")
	}
	if len(r.Reason) > MaxReasonLength {
		return time.Time{}, Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	at := now
	if r.DoneAt != nil {
		at = *r.DoneAt
	}
	if at.After(now.Add(MaxContactClockSkew)) {
		return time.Time{}, Errorf(ErrInvalid, "done_at %s is in the future", at.Format(time.RFC3339))
	}
	if at.Before(c.IdentifiedAt) {
		return time.Time{}, Errorf(ErrInvalid, "done_at %s is before the contact was identified (%s)", at.Format(time.RFC3339), c.IdentifiedAt.Format(time.RFC3339))
	}
	if s := c.Step(r.Step); s != nil {
		return time.Time{}, Errorf(ErrConflict, "step %s of contact %s was done already, at %s", r.Step, c.ContactNo, s.DoneAt.Format(time.RFC3339))
	}
	for _, before := range ClosedLoopSteps[:i] {
		s := c.Step(before)
		if s == nil {
			return time.Time{}, Errorf(ErrConflict, "step %s of contact %s comes after %s, which is not done yet", r.Step, c.ContactNo, before)
		}
		if at.Before(s.DoneAt) {
			return time.Time{}, Errorf(ErrInvalid, "done_at %s is before step %s (%s)", at.Format(time.RFC3339), before, s.DoneAt.Format(time.RFC3339))
		}
	}
	return at, nil
}

// Contact is a registered contact with its steps (restricted).
type Contact struct {
	ID           int64         `json:"id"`
	ContactNo    string        `json:"contact_no"`
	CountyID     int64         `json:"county_id"`
	Kind         string        `json:"kind"`
	CaseID       *int64        `json:"case_id,omitempty"`
	ViaContactID *int64        `json:"via_contact_id,omitempty"`
	IdentifiedAt time.Time     `json:"identified_at"`
	LastExposure string        `json:"last_exposure_date,omitempty"`
	UnitID       *int64        `json:"residence_unit_id,omitempty"`
	BuildingID   *int64        `json:"residence_building_id,omitempty"`
	Address      string        `json:"residence_address,omitempty"`
	SnapM        *float64      `json:"residence_snap_m,omitempty"`
	Steps        []ContactStep `json:"steps"`
	// SiteID is the quarantine site the contact is assigned to; SiteManual
	// says an expert chose it (the automatic assignment leaves it).
	SiteID     *int64 `json:"site_id,omitempty"`
	SiteManual bool   `json:"site_manual,omitempty"`
	// Status is the last step done ("identified" before any).
	Status string `json:"status"`
	// Overdue lists the steps not done past their limit, with when each
	// was due; Due is the next step's deadline.
	Overdue []DueStep `json:"overdue"`
	Next    *DueStep  `json:"next,omitempty"`
}

// DueStep is a step with its deadline.
type DueStep struct {
	Step  string    `json:"step"`
	DueAt time.Time `json:"due_at"`
}

// Step is the record of step, or nil when it is not done.
func (c Contact) Step(step string) *ContactStep {
	for i := range c.Steps {
		if c.Steps[i].Step == step {
			return &c.Steps[i]
		}
	}
	return nil
}

// ContactIdentified is the status of a contact before any step.
const ContactIdentified = "identified"

// Assess fills Status, Overdue and Next from the steps, the limits and now.
// A step is overdue when it is not done and its deadline (identification
// plus its limit) has passed; every such step is listed, so a contact never
// reached shows all four.
func (c *Contact) Assess(l ClosedLoopLimits, now time.Time) {
	c.Status = ContactIdentified
	c.Overdue = []DueStep{}
	c.Next = nil
	for _, s := range ClosedLoopSteps {
		if c.Step(s) != nil {
			c.Status = s
			continue
		}
		due := DueStep{Step: s, DueAt: c.IdentifiedAt.Add(l.Limit(s))}
		if c.Next == nil {
			d := due
			c.Next = &d
		}
		if now.After(due.DueAt) {
			c.Overdue = append(c.Overdue, due)
		}
	}
}
