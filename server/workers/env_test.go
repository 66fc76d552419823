package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// storyEnv is a database holding the demo city and its story (proposals,
// zones, notices, the outbox of the story's subscribers).
type storyEnv struct {
	store *postgis.Store
	sum   *demo.Summary
	story *demo.StorySummary
}

func newStoryEnv(t testing.TB) *storyEnv {
	t.Helper()
	store := pgtest.NewStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := demo.Load(ctx, store, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	st, err := demo.TellStory(ctx, store, sum)
	if err != nil {
		t.Fatalf("demo story: %v", err)
	}
	return &storyEnv{store: store, sum: sum, story: st}
}
