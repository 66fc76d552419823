package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// agency is a webhook receiver that can be taken offline; it keeps the
// notices it accepted, in arrival order, with their idempotency keys.
type agency struct {
	*httptest.Server
	offline atomic.Bool
	mu      sync.Mutex
	got     []int64          // notice ids accepted, in order
	keys    map[int64]string // idempotency key of each accepted notice
	tried   map[int64]string // idempotency key of each notice tried while offline
}

func newAgency(t *testing.T) *agency {
	a := &agency{keys: map[int64]string{}, tried: map[int64]string{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id, _ := strconv.ParseInt(r.Header.Get("X-Riskzone-Notice"), 10, 64)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.offline.Load() {
			a.tried[id] = r.Header.Get(workers.HeaderIdempotencyKey)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		a.got = append(a.got, id)
		a.keys[id] = r.Header.Get(workers.HeaderIdempotencyKey)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *agency) received() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

// waitReceived waits until the agency has n notices.
func (a *agency) waitReceived(t *testing.T, n int) []int64 {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got := a.received(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agency has %v, want %d notices", a.received(), n)
		}
	}
}

// An agency offline for three notices catches up: by asking for the
// notices since the last one it has (public API, paged), and by an admin
// re-queueing them to it; either way it gets exactly the missing ones, in
// order, none twice, and the pushed ones carry their original keys.
func TestWebhookCatchUpAfterOutage(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	county := e.sum.CountyID
	if _, err := e.store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool.Exec(ctx, `UPDATE subscribers SET active = false`); err != nil {
		t.Fatal(err)
	}
	ag := newAgency(t)
	ob := postgis.Outbox{S: e.store}
	sub, _, err := ob.CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
		zoning.NewSubscriber{Name: "city agency", URL: ag.URL + "/hook", Secret: "catch-up-secret-0123", CountyIDs: []int64{county}})
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := e.store.UserByUsername(ctx, "demo.publisher")
	if err != nil {
		t.Fatal(err)
	}
	confirmer := e.addUser("pub2", zoning.RolePublisher, "")
	ns := postgis.Notices{S: e.store}
	publish := func(i int) int64 {
		t.Helper()
		d, err := ns.DraftCorrection(ctx, zoning.Origin{Actor: publisher.Principal(zoning.ViaSession)}, e.story.Notices[0],
			zoning.CorrectionRequest{Note: fmt.Sprintf("第%d次更正：联系电话更正。", i)})
		if err != nil {
			t.Fatal(err)
		}
		n, err := ns.ConfirmCorrection(ctx, zoning.Origin{Actor: confirmer.Principal(zoning.ViaSession)}, d.ID, zoning.CorrectionDecision{})
		if err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	startWorker(t, e, workers.WebhookConfig{BaseDelay: 30 * time.Millisecond, Jitter: 0, MaxAttempts: 2, Poll: 30 * time.Millisecond})

	last := publish(1)
	if got := ag.waitReceived(t, 1); got[0] != last {
		t.Fatalf("the agency got %v, want notice %d", got, last)
	}
	// Offline for three notices: their deliveries end dead.
	ag.offline.Store(true)
	var missed []int64
	for i := 2; i <= 4; i++ {
		missed = append(missed, publish(i))
	}
	for _, id := range missed {
		var row int64
		if err := e.store.Pool.QueryRow(ctx, `SELECT id FROM outbox WHERE notice_id = $1 AND subscriber_id = $2`, id, sub.ID).Scan(&row); err != nil {
			t.Fatal(err)
		}
		workerstest.WaitState(t, e.store, row, "dead")
	}
	ag.offline.Store(false)

	// Pull: the notices since the last one it has, two a page.
	type page struct {
		SinceID int64 `json:"since_id"`
		Notices []struct {
			zoning.Notice
			Links map[string]string `json:"links"`
		} `json:"notices"`
		Next int64 `json:"next_since_id"`
		More bool  `json:"more"`
	}
	var pulled []int64
	for since, pages := last, 0; ; pages++ {
		if pages > 3 {
			t.Fatal("the catch-up does not end")
		}
		var p page
		e.get(fmt.Sprintf("/api/v1/public/notices?since_id=%d&county=%d&limit=2", since, county), http.StatusOK).decode(t, &p)
		for _, n := range p.Notices {
			pulled = append(pulled, n.ID)
			if n.CAPIdentifier == "" || n.CAPMsgType != zoning.CAPUpdate || n.Links["cap"] != fmt.Sprintf("http://%s/notices/%d.cap", e.ts.Listener.Addr(), n.ID) {
				t.Fatalf("caught-up notice %d: CAP %q %q, links %v", n.ID, n.CAPIdentifier, n.CAPMsgType, n.Links)
			}
		}
		if p.SinceID != since || (len(p.Notices) > 0 && p.Next != p.Notices[len(p.Notices)-1].ID) {
			t.Fatalf("page since %d: %+v", since, p)
		}
		if !p.More {
			break
		}
		since = p.Next
	}
	if !slices.Equal(pulled, missed) {
		t.Fatalf("pulled %v, want exactly the missed %v in order", pulled, missed)
	}
	for _, bad := range []string{"", "?since_id=x", "?since_id=-1", "?since_id=1&limit=0", "?since_id=1&limit=1000", "?since_id=1&county=x"} {
		res := e.do(request{method: "GET", path: "/api/v1/public/notices" + bad})
		res.expect(t, http.StatusBadRequest, "catch-up with "+bad)
	}

	// Push: an admin re-queues them to the agency.
	e.addUser("ops", zoning.RoleAdmin, "ops-password-123")
	ops := e.login("ops", "ops-password-123")
	requeue := func(subID any, body any) response {
		return e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/admin/subscribers/%v/requeue", subID), json: body,
			cookie: ops.cookie, csrf: ops.csrf})
	}
	requeue(sub.ID, map[string]any{}).expectError(t, http.StatusBadRequest, "since_id is missing", "requeue without since_id")
	requeue(sub.ID, map[string]any{"since_id": -1}).expectError(t, http.StatusBadRequest, "since_id -1", "requeue since -1")
	requeue(sub.ID, map[string]any{"since_id": 999999}).expectError(t, http.StatusNotFound, "notice 999999 not found", "requeue since an unknown notice")
	requeue(999999, map[string]any{"since_id": last}).expectError(t, http.StatusNotFound, "subscriber 999999 not found", "requeue to nobody")
	var res postgis.RequeueResult
	requeue(sub.ID, map[string]any{"since_id": last, "reason": "the agency was offline"}).expect(t, http.StatusOK, "requeue").decode(t, &res)
	var requeued []int64
	for _, d := range res.Requeued {
		requeued = append(requeued, d.NoticeID)
		if d.State != "pending" || d.IdempotencyKey != ag.tried[d.NoticeID] {
			t.Fatalf("requeued %+v: want pending with the key first tried (%s)", d, ag.tried[d.NoticeID])
		}
	}
	if !slices.Equal(requeued, missed) || len(res.Created) != 0 || len(res.Unchanged) != 0 || res.More || res.NextSinceID != missed[2] {
		t.Fatalf("requeue answered %+v, want the missed %v", res, missed)
	}
	got := ag.waitReceived(t, 4)
	waitDelivered := func() {
		t.Helper()
		for _, id := range missed {
			var row int64
			if err := e.store.Pool.QueryRow(ctx, `SELECT id FROM outbox WHERE notice_id = $1 AND subscriber_id = $2`, id, sub.ID).Scan(&row); err != nil {
				t.Fatal(err)
			}
			workerstest.WaitState(t, e.store, row, "delivered")
		}
	}
	waitDelivered()
	if got = ag.received(); !slices.Equal(got, append([]int64{last}, missed...)) {
		t.Fatalf("the agency got %v, want %d then the missed %v in order, none twice", got, last, missed)
	}
	// Asked again, nothing is sent twice: the rows are delivered.
	res = postgis.RequeueResult{}
	requeue(sub.ID, map[string]any{"since_id": last}).expect(t, http.StatusOK, "requeue again").decode(t, &res)
	if len(res.Requeued) != 0 || len(res.Created) != 0 || len(res.Unchanged) != 3 {
		t.Fatalf("a second requeue %+v, want the three left alone", res)
	}
	var actor string
	if err := e.store.Pool.QueryRow(ctx, `SELECT actor FROM audit_log WHERE action = 'subscriber.requeue' AND outcome = 'ok'
		AND entity_id = $1 ORDER BY id LIMIT 1`, fmt.Sprint(sub.ID)).Scan(&actor); err != nil || actor != "ops" {
		t.Fatalf("requeue audited by %q (%v)", actor, err)
	}
	// A disabled subscriber is refused.
	if _, err := ob.SetSubscriberActive(ctx, zoning.Origin{Actor: zoning.CLI()}, sub.ID, false); err != nil {
		t.Fatal(err)
	}
	requeue(sub.ID, map[string]any{"since_id": last}).expectError(t, http.StatusConflict, "is disabled", "requeue to a disabled subscriber")
	time.Sleep(200 * time.Millisecond)
	if got := ag.received(); len(got) != 4 {
		t.Fatalf("the agency got %v after the second requeue, want nothing more", got)
	}
}
