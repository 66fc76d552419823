package demo

import (
	"context"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The story leaves the county published: an Alert, an Update with an
// adjusted and a split zone, an Update for a lifted zone (the others stay
// in force), subscribers, and
// fresh proposals; the same seed tells the same story.
func TestTellStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := pgtest.NewStore(t)
	sum, err := Load(ctx, s, Options{Seed: 1, Buildings: 3000, Today: testToday}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := TellStory(ctx, s, sum)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("story in %s: %+v", time.Since(start).Round(time.Millisecond), st)
	if st.Zones == 0 || st.Adjusted == 0 || st.Split == 0 || len(st.Parts) != 2 || st.Lifted == 0 || st.Subscribers != 2 {
		t.Fatalf("story %+v", st)
	}
	if len(st.Notices) != 3 {
		t.Fatalf("notices %v, want 3 (Alert, Update, Update)", st.Notices)
	}
	ns := postgis.Notices{S: s}
	var types []string
	for _, id := range st.Notices {
		n, err := ns.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, n.CAPMsgType)
	}
	if types[0] != "Alert" || types[1] != "Update" || types[2] != "Update" {
		t.Fatalf("CAP message types %v", types)
	}
	var pending int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 3 {
		t.Fatalf("%d pending deliveries, want 3 (one per notice to the active subscriber)", pending)
	}
	if _, err := TellStory(ctx, s, sum); err == nil {
		t.Fatal("a second story on the same county was not refused")
	}
}
