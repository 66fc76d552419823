package server

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// The expert app end to end in a real browser: Debian's headless Chromium
// driven by playwright-core (web/e2e/app.mjs) against this server on a
// fresh demo database (demo city and story) with the users expert, expert2
// and publisher. The script logs in, runs the engine, accepts a proposal as
// the second person, adds a building by clicking it, undoes and redoes,
// saves and checks version 2 and its diff, drags a vertex, meets a 409 and
// re-applies, records a screening, checks the canvas is not blank and the
// zone layer renders, publishes with the preview as publisher and finds the
// zone on the public side, and looks at a tablet width. Screenshots of every
// step go to $RISKZONE_SCREENSHOTS or .data/screenshots/app.
//
// Needs node, web/node_modules (npm ci), the built app (make web) and
// /usr/bin/chromium; it fails, never skips, when one is missing.
func TestExpertAppInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: the browser test runs web/e2e/app.mjs (make deps installs it)")
	}
	wd, _ := os.Getwd()
	webDir := filepath.Join(wd, "..", "web")
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		t.Fatal("web/node_modules is missing: run make web (cd web && npm ci && npm run build)")
	}
	if appFS() == nil {
		t.Fatal("the expert app is not built into web/dist/app: run make web, then test again")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("/usr/bin/chromium is missing: apt-get install chromium (make deps installs it)")
	}
	e := newPublicEnv(t)
	for _, u := range []struct {
		name string
		role zoning.Role
	}{{"expert", zoning.RoleExpert}, {"expert2", zoning.RoleExpert}, {"publisher", zoning.RolePublisher}} {
		e.addUser(u.name, u.role, "riskzone-demo")
	}
	e.srv.Start(t.Context())
	shots := os.Getenv("RISKZONE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(wd, "..", ".data", "screenshots", "app")
	}
	_ = os.RemoveAll(shots)
	start := time.Now()
	cmd := exec.Command(node, filepath.Join(webDir, "e2e", "app.mjs"), e.ts.URL, shots)
	cmd.Dir = webDir
	out, runErr := cmd.Output()
	var r struct {
		Steps []struct {
			Name string `json:"name"`
			Ms   int    `json:"ms"`
		} `json:"steps"`
		Errors      []string       `json:"errors"`
		Screenshots []string       `json:"screenshots"`
		Metrics     map[string]any `json:"metrics"`
		Failed      bool           `json:"failed"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		var stderr []byte
		if ee, ok := runErr.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("web/e2e/app.mjs: %v: %v\nstdout: %s\nstderr: %s", runErr, err, out, stderr)
	}
	for _, s := range r.Steps {
		t.Logf("step %-70s %6d ms", s.Name, s.Ms)
	}
	m, _ := json.Marshal(r.Metrics)
	t.Logf("metrics: %s", m)
	t.Logf("%d screenshots in %s; browser suite took %s", len(r.Screenshots), shots, time.Since(start).Round(time.Second))
	if runErr != nil || r.Failed || len(r.Steps) < 14 {
		t.Fatalf("the expert app failed in the browser after %d steps: %v\nerrors: %q", len(r.Steps), runErr, r.Errors)
	}
	for _, e := range r.Errors {
		t.Logf("browser console: %s", e)
	}
}
