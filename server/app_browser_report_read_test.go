package server

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// The runner's JSON report as TestExpertAppInBrowser reads it: stories
// named by file, describe and title; a failed and a skipped story both
// count as failed, with the runner's errors (colour codes removed); the
// guard, the screenshots (not the runner's own failure screenshot) and the
// budgets story's metrics are picked up. No browser, no database.
func TestReadStoryReport(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := fmt.Sprintf(`{"suites": [{"title": "a.spec.mjs", "file": "a.spec.mjs", "specs": [
	  {"title": "passes", "file": "a.spec.mjs", "tests": [{"status": "expected", "results": [{"status": "passed", "duration": 1200, "attachments": [
	    {"name": "map", "contentType": "image/png", "path": "/shots/a/01-map.png"},
	    {"name": "guard", "contentType": "application/json", "body": %q},
	    {"name": "metrics", "contentType": "application/json", "body": %q}]}]}]}],
	  "suites": [{"title": "inner", "file": "a.spec.mjs", "specs": [
	    {"title": "fails", "file": "a.spec.mjs", "tests": [{"status": "unexpected", "results": [{"status": "failed", "duration": 300,
	      "errors": [{"message": "\u001b[31mcheck failed: x\u001b[39m"}],
	      "attachments": [{"name": "screenshot", "contentType": "image/png", "path": "/out/test-failed-1.png"}]}]}]},
	    {"title": "skipped", "file": "a.spec.mjs", "tests": [{"status": "skipped", "results": []}]}]}]}],
	  "errors": [{"message": "worker crashed"}]}`,
		b64(`{"pageErrors": [], "csp": [], "foreign": [], "http": ["403 GET /x"], "console": [], "notes": ["lift not tried"]}`),
		b64(`{"firstLoad": {"firstRenderMs": 845, "firstRenderRunsMs": [845, 860, 796], "appAssetsTransferBytes": 351621}}`))
	r, err := readStoryReport([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.stories) != 3 {
		t.Fatalf("%d stories, want 3: %+v", len(r.stories), r.stories)
	}
	if got := r.stories[1].name; got != "a.spec.mjs › inner › fails" {
		t.Errorf("name %q", got)
	}
	ok := r.stories[0]
	if !ok.guarded || len(ok.screenshots) != 1 || ok.screenshots[0] != "/shots/a/01-map.png" || ok.ms != 1200 {
		t.Errorf("passing story: %+v", ok)
	}
	if len(r.stories[1].screenshots) != 0 || r.stories[1].guarded {
		t.Errorf("the runner's failure screenshot counted as the story's, or a guard invented: %+v", r.stories[1])
	}
	failed := r.failed()
	if len(failed) != 2 || !strings.Contains(failed[0], "inner › fails: unexpected\n  check failed: x") || strings.Contains(failed[0], "\x1b") ||
		!strings.Contains(failed[1], "skipped") {
		t.Errorf("failed: %q", failed)
	}
	if r.firstLoad.FirstRenderMs != 845 || r.firstLoad.AppAssetsTransferBytes != 351621 || len(r.firstLoad.FirstRenderRunsMs) != 3 {
		t.Errorf("firstLoad %+v", r.firstLoad)
	}
	if len(r.errors) != 1 || len(r.http) != 1 || !strings.HasSuffix(r.notes[0], ": lift not tried") {
		t.Errorf("errors %q, http %q, notes %q", r.errors, r.http, r.notes)
	}
	if _, err := readStoryReport([]byte(`{"suites": [{"specs": [{"tests": [{"results": [{"attachments": [{"name": "guard", "body": "bm90IGpzb24="}]}]}]}]}]}`)); err == nil {
		t.Error("a guard that is not JSON was accepted")
	}
}
