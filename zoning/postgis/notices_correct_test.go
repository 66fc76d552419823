package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// correct drafts a correction of notice id as drafter and confirms it as
// confirmer: the two publishers the second-person rule asks for.
func correct(t *testing.T, ns postgis.Notices, drafter, confirmer zoning.User, id int64, req zoning.CorrectionRequest) zoning.Notice {
	t.Helper()
	ctx := context.Background()
	d, err := ns.DraftCorrection(ctx, as(drafter), id, req)
	if err != nil {
		t.Fatalf("draft a correction of notice %d: %v", id, err)
	}
	n, err := ns.ConfirmCorrection(ctx, as(confirmer), d.ID, zoning.CorrectionDecision{})
	if err != nil {
		t.Fatalf("confirm correction %d: %v", d.ID, err)
	}
	return n
}

// A correction of a published notice needs two publishers: the drafter
// cannot confirm it (refused and audited, nothing published); a second
// publisher can, once; a withdrawn draft cannot be confirmed.
func TestCorrectionNeedsASecondPublisher(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	pub2 := mustUser(t, e.s, "pub2", zoning.RolePublisher, "")
	target := e.st.Notices[0]
	notices := func() int {
		var n int
		if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM notices`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := notices()

	d, err := e.notices.DraftCorrection(ctx, as(e.pub), target, zoning.CorrectionRequest{Note: "第1号通告的联系电话更正为12345。"})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != zoning.CorrectionPending || d.NoticeID != target || d.DraftedBy != e.pub.Username || d.PublishedNoticeID != nil {
		t.Fatalf("draft %+v", d)
	}
	if got := notices(); got != before {
		t.Fatalf("drafting published a notice: %d → %d", before, got)
	}
	pending, err := e.notices.PendingCorrections(ctx, e.sum.CountyID)
	if err != nil || len(pending) != 1 || pending[0].ID != d.ID {
		t.Fatalf("pending %+v %v", pending, err)
	}

	// The drafter confirms their own draft: refused, audited, nothing written.
	_, err = e.notices.ConfirmCorrection(ctx, as(e.pub), d.ID, zoning.CorrectionDecision{})
	if !errors.Is(err, zoning.ErrForbidden) || !strings.Contains(zoning.Message(err), "second person") {
		t.Fatalf("the drafter confirmed: %v", err)
	}
	var refusals int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'notice.correct' AND outcome = 'refused' AND actor = $1`,
		e.pub.Username).Scan(&refusals); err != nil || refusals != 1 {
		t.Fatalf("refusals audited: %d %v", refusals, err)
	}
	if got := notices(); got != before {
		t.Fatalf("a refused confirmation published a notice: %d → %d", before, got)
	}
	// An admin is held to the rule as well when they drafted it.
	ad, err := e.notices.DraftCorrection(ctx, as(e.admin), target, zoning.CorrectionRequest{Note: "管理员起草的更正。"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.notices.ConfirmCorrection(ctx, as(e.admin), ad.ID, zoning.CorrectionDecision{}); !errors.Is(err, zoning.ErrForbidden) {
		t.Fatalf("an admin confirmed their own draft: %v", err)
	}
	if w, err := e.notices.WithdrawCorrection(ctx, as(e.admin), ad.ID, zoning.CorrectionDecision{Reason: "drafted in error"}); err != nil || w.State != zoning.CorrectionWithdrawn {
		t.Fatalf("withdraw: %+v %v", w, err)
	}
	if _, err := e.notices.ConfirmCorrection(ctx, as(pub2), ad.ID, zoning.CorrectionDecision{}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("a withdrawn draft was confirmed: %v", err)
	}

	// A second publisher confirms: the correction notice carries the drafted note.
	n, err := e.notices.ConfirmCorrection(ctx, as(pub2), d.ID, zoning.CorrectionDecision{Reason: "checked against the hotline list"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Kind != zoning.NoticeCorrection || n.References == nil || *n.References != target || !strings.Contains(n.BodyZh, "12345") {
		t.Fatalf("correction notice %+v", n)
	}
	if got := notices(); got != before+1 {
		t.Fatalf("notices %d → %d, want one more", before, got)
	}
	var state string
	var published *int64
	if err := e.s.Pool.QueryRow(ctx, `SELECT state, published_notice_id FROM notice_corrections WHERE id = $1`, d.ID).Scan(&state, &published); err != nil ||
		state != zoning.CorrectionPublished || published == nil || *published != n.ID {
		t.Fatalf("draft after confirmation: %s %v %v", state, published, err)
	}
	if _, err := e.notices.ConfirmCorrection(ctx, as(e.admin), d.ID, zoning.CorrectionDecision{}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("a correction was confirmed twice: %v", err)
	}
	if pending, err := e.notices.PendingCorrections(ctx, 0); err != nil || len(pending) != 0 {
		t.Fatalf("still pending: %+v %v", pending, err)
	}
}

// Drafts need a signed-in user, a known notice and a valid note; each
// refusal writes no draft.
func TestCorrectionDraftRefusals(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	target := e.st.Notices[0]
	for name, c := range map[string]struct {
		o    zoning.Origin
		id   int64
		req  zoning.CorrectionRequest
		kind error
	}{
		"command line": {zoning.Origin{Actor: zoning.CLI()}, target, zoning.CorrectionRequest{Note: "更正。"}, zoning.ErrForbidden},
		"unknown":      {as(e.pub), 1 << 40, zoning.CorrectionRequest{Note: "更正。"}, zoning.ErrNotFound},
		"no note":      {as(e.pub), target, zoning.CorrectionRequest{Note: "  "}, zoning.ErrInvalid},
		"control":      {as(e.pub), target, zoning.CorrectionRequest{Note: "更正\x00"}, zoning.ErrInvalid},
		"long reason":  {as(e.pub), target, zoning.CorrectionRequest{Note: "更正。", Reason: strings.Repeat("x", zoning.MaxReasonLength+1)}, zoning.ErrInvalid},
	} {
		if _, err := e.notices.DraftCorrection(ctx, c.o, c.id, c.req); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	var n int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM notice_corrections`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused drafts left %d rows (%v)", n, err)
	}
	if _, err := e.notices.ConfirmCorrection(ctx, as(e.pub), 1<<40, zoning.CorrectionDecision{}); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("confirm an unknown draft: %v", err)
	}
}
