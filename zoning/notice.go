package zoning

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Publication (SPEC §2 "Publication", §5 "Notices out"). A publisher turns
// the approved but unpublished changes of one county into notices: public,
// immutable texts in Chinese and English, each with one OASIS CAP 1.2
// message. The rules that need no database live here: request checks, the
// classification of a county's pending changes, and the notice text. The
// store (postgis.Notices) applies them in one transaction.

// Notice kinds (notices.kind).
const (
	NoticeDesignate  = "designate"  // new high-risk zones only
	NoticeAdjust     = "adjust"     // zones redrawn (and possibly new ones)
	NoticeExtend     = "extend"     // zone clocks moved by new infections
	NoticeSplit      = "split"      // a zone split into parts
	NoticeMerge      = "merge"      // zones merged
	NoticeLift       = "lift"       // some zones lifted, others remain
	NoticeNormalize  = "normalize"  // the last zones lifted: the county is back to normal
	NoticeCorrection = "correction" // corrects an earlier notice
)

// Notice statuses (notices.status), mapped to CAP <status>.
const (
	NoticeActual   = "actual"
	NoticeExercise = "exercise"
	NoticeTest     = "test"
)

// CAP message types (notices.cap_msg_type).
const (
	CAPAlert  = "Alert"
	CAPUpdate = "Update"
	CAPCancel = "Cancel"
)

// Limits of publishing requests.
const (
	MaxNoticeNote      = 2000 // bytes of a publisher's note
	MaxPublishZones    = 500  // zones named in one publish request
	maxEffectiveFuture = 30 * 24 * time.Hour
)

// CAPStatus is the CAP <status> of a notice status.
func CAPStatus(status string) string {
	switch status {
	case NoticeExercise:
		return "Exercise"
	case NoticeTest:
		return "Test"
	}
	return "Actual"
}

// PublishRequest publishes the pending changes of one county. With ZoneIDs
// empty every pending change of the county is published; otherwise only the
// changes of the zones named, together with the zones linked to them by a
// pending split or merge (a part is never public without the end of its
// parent, nor a merged zone without the end of the zones it replaced).
type PublishRequest struct {
	CountyID int64   `json:"county_id"`
	ZoneIDs  []int64 `json:"zone_ids,omitempty"`
	// Status is actual (default), exercise or test: CAP <status> end to end.
	Status string `json:"status,omitempty"`
	// EffectiveAt is when the notice takes effect; default the publication
	// time. It may not be earlier than the publication (CAP: effective is
	// never before sent).
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	// Note is a paragraph the publisher adds to the notice (plain text).
	Note   string `json:"note,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the request before anything is read.
func (r *PublishRequest) Validate(now time.Time) error {
	if r.CountyID <= 0 {
		return Errorf(ErrInvalid, "county_id is missing: want the id of the county whose changes you publish")
	}
	switch r.Status {
	case "":
		r.Status = NoticeActual
	case NoticeActual, NoticeExercise, NoticeTest:
	default:
		return Errorf(ErrInvalid, "status %q: want actual, exercise or test", r.Status)
	}
	if len(r.ZoneIDs) > MaxPublishZones {
		return Errorf(ErrTooLarge, "%d zones in one publish request: at most %d", len(r.ZoneIDs), MaxPublishZones)
	}
	seen := map[int64]bool{}
	for _, id := range r.ZoneIDs {
		if id <= 0 {
			return Errorf(ErrInvalid, "zone_ids: %d is not a positive number", id)
		}
		if seen[id] {
			return Errorf(ErrInvalid, "zone_ids: zone %d is given twice", id)
		}
		seen[id] = true
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if len(r.Reason) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return checkEffective(r.EffectiveAt, now)
}

// CorrectionRequest corrects a published notice: a new notice (kind
// correction, CAP Update) that references the old one and states the
// current situation again with the publisher's correction note.
type CorrectionRequest struct {
	Note        string     `json:"note"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Reason      string     `json:"reason,omitempty"`
}

// Validate checks the request.
func (r CorrectionRequest) Validate(now time.Time) error {
	if strings.TrimSpace(r.Note) == "" {
		return Errorf(ErrInvalid, "note is missing: say what the correction corrects")
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if len(r.Reason) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return checkEffective(r.EffectiveAt, now)
}

func checkNote(n string) error {
	if len(n) > MaxNoticeNote {
		return Errorf(ErrInvalid, "note is longer than %d bytes", MaxNoticeNote)
	}
	if !utf8.ValidString(n) {
		return Errorf(ErrInvalid, "note is not valid UTF-8")
	}
	for _, r := range n {
		if r < 0x20 && r != '\n' && r != '\t' {
			return Errorf(ErrInvalid, "note holds control characters: want plain text")
		}
	}
	return nil
}

func checkEffective(t *time.Time, now time.Time) error {
	if t == nil {
		return nil
	}
	if t.Before(now.Add(-time.Minute)) {
		return Errorf(ErrInvalid, "effective_at %s is before the publication: a notice takes effect when it is published or later",
			t.UTC().Format(time.RFC3339))
	}
	if t.After(now.Add(maxEffectiveFuture)) {
		return Errorf(ErrInvalid, "effective_at %s is more than 30 days ahead", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// Notice is a published notice as the public sees it.
type Notice struct {
	ID            int64     `json:"id"`
	CountyID      int64     `json:"county_id"`
	County        string    `json:"county"`
	CountyEn      string    `json:"county_en"`
	Number        int       `json:"number"`
	Kind          string    `json:"kind"`
	Status        string    `json:"status"`
	TitleZh       string    `json:"title_zh"`
	TitleEn       string    `json:"title_en"`
	BodyZh        string    `json:"body_zh"`
	BodyEn        string    `json:"body_en"`
	EffectiveAt   time.Time `json:"effective_at"`
	PublishedAt   time.Time `json:"published_at"`
	References    *int64    `json:"references_notice_id"`
	CAPIdentifier string    `json:"cap_identifier"`
	CAPMsgType    string    `json:"cap_msg_type"`
	// Zones are the zone versions the notice changed.
	Zones []NoticeZone `json:"zones"`
}

// NoticeZone is a zone version a notice published, and what happened to the
// zone (a NoticeChange).
type NoticeZone struct {
	ZoneID  int64  `json:"zone_id"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	Level   string `json:"level"`
	Status  string `json:"status"`
	Change  string `json:"change"`
}

// Changes of a zone as a notice states them (NoticeZone.Change), relative to
// what the public saw before.
const (
	NoticeChangeNew        = "new"        // designated (first public version)
	NoticeChangeAdjusted   = "adjusted"   // redrawn or members changed
	NoticeChangeExtended   = "extended"   // clock moved by a new infection
	NoticeChangeSplitPart  = "split_part" // a part of a split zone
	NoticeChangeMerged     = "merged"     // the zone made by a merge
	NoticeChangeSuperseded = "superseded" // ended by a split or merge
	NoticeChangeLifted     = "lifted"     // lifted: back to low risk
)

// PendingVersion is an unpublished zone version as the classifier sees it.
type PendingVersion struct {
	Version int
	Status  string
	Change  string
}

// PendingZone is a zone with unpublished versions: what the public saw last
// (PublicStatus "" when the zone was never public) and the versions since.
type PendingZone struct {
	ZoneID        int64
	ParentZoneIDs []int64
	PublicVersion int
	PublicStatus  string
	Versions      []PendingVersion // ascending
}

// Latest is the newest pending version.
func (p PendingZone) Latest() PendingVersion { return p.Versions[len(p.Versions)-1] }

// Classify says what publishing the zone's pending versions tells the
// public (a NoticeChange), or "" when the zone's changes stay internal:
// a zone that was never public and is no longer active (designated and
// lifted, or split, before any publication) is never announced.
func (p PendingZone) Classify(publicParents map[int64]bool) string {
	if len(p.Versions) == 0 {
		return ""
	}
	last := p.Latest()
	if p.PublicStatus == "" {
		if last.Status != ZoneActive {
			return ""
		}
		first := p.Versions[0]
		anyParentPublic := false
		for _, id := range p.ParentZoneIDs {
			anyParentPublic = anyParentPublic || publicParents[id]
		}
		switch {
		case first.Version == 1 && first.Change == ChangeSplit && anyParentPublic:
			return NoticeChangeSplitPart
		case first.Version == 1 && first.Change == ChangeMerge && anyParentPublic:
			return NoticeChangeMerged
		}
		return NoticeChangeNew
	}
	if p.PublicStatus != ZoneActive {
		return "" // a lifted or superseded zone does not change again
	}
	switch last.Status {
	case ZoneLifted:
		return NoticeChangeLifted
	case ZoneSuperseded:
		return NoticeChangeSuperseded
	}
	for _, v := range p.Versions {
		if v.Change == ChangeAdjust {
			return NoticeChangeAdjusted
		}
	}
	return NoticeChangeExtended
}

// NoticeKindOf is the kind of a notice stating the given zone changes: the
// most structural change wins (split, merge, adjust, extend, designate).
func NoticeKindOf(changes []string) string {
	has := func(c string) bool { return slices.Contains(changes, c) }
	switch {
	case has(NoticeChangeSplitPart):
		return NoticeSplit
	case has(NoticeChangeMerged):
		return NoticeMerge
	case has(NoticeChangeAdjusted):
		return NoticeAdjust
	case has(NoticeChangeExtended):
		return NoticeExtend
	case has(NoticeChangeNew):
		return NoticeDesignate
	case has(NoticeChangeSuperseded):
		return NoticeAdjust
	}
	return NoticeLift
}

// ---- addresses ---------------------------------------------------------------

// ---- what the public reads -------------------------------------------------

// ---- webhook subscribers -----------------------------------------------------
