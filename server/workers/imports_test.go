package workers_test

import (
	"testing"

	"github.com/riskzone/riskzone/server/workers"
)

// The runner holds one running and queued waiting jobs, no more: a
// reservation beyond them is refused (the 429 of POST /api/v1/imports) until
// a slot is given back.
func TestImportSlots(t *testing.T) {
	q := workers.NewImports(nil, quiet(), "http:test", 2)
	if q.Waiting() != 2 {
		t.Fatalf("waiting %d, want 2", q.Waiting())
	}
	for i := range 3 {
		if !q.Reserve() {
			t.Fatalf("reservation %d refused", i+1)
		}
	}
	if q.Reserve() {
		t.Fatal("a fourth job was accepted with one running and two queued")
	}
	q.Unreserve()
	if !q.Reserve() {
		t.Fatal("a slot given back was not free again")
	}
}
