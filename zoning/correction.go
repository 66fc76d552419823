package zoning

import "time"

// Corrections of published notices follow the second-person rule (SPEC §6):
// one publisher drafts the correction, a second publisher confirms it, and
// only then is the correction notice published. A draft can be withdrawn by
// any publisher before it is confirmed.

// Correction states (notice_corrections.state).
const (
	CorrectionPending   = "pending"
	CorrectionPublished = "published"
	CorrectionWithdrawn = "withdrawn"
)

// CorrectionDraft is a drafted correction of a published notice.
type CorrectionDraft struct {
	ID                int64      `json:"id"`
	NoticeID          int64      `json:"notice_id"`
	CountyID          int64      `json:"county_id"`
	Note              string     `json:"note"`
	EffectiveAt       *time.Time `json:"effective_at,omitempty"`
	Reason            string     `json:"reason,omitempty"`
	State             string     `json:"state"`
	DraftedBy         string     `json:"drafted_by"`
	DraftedAt         time.Time  `json:"drafted_at"`
	DecidedBy         string     `json:"decided_by,omitempty"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
	PublishedNoticeID *int64     `json:"published_notice_id,omitempty"`
}

// CorrectionDecision confirms or withdraws a drafted correction.
type CorrectionDecision struct {
	Reason string `json:"reason,omitempty"`
}

// Validate checks the decision.
func (d CorrectionDecision) Validate() error {
	if len(d.Reason) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return nil
}
