package server

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/riskzone/riskzone/web"
)

// The county page and the embed page render the map with zones in a real
// browser: Debian's headless Chromium driven by playwright-core
// (web/e2e/embed.mjs). Needs node, web/node_modules (npm ci in web/), the
// built assets (npm run build) and /usr/bin/chromium; as root a missing
// chromium is installed with apt-get.
func TestEmbedMapInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: the browser test runs web/e2e/embed.mjs")
	}
	root := filepath.Dir(repoShared(t)) // the folder holding shared/ and the repository
	_ = root
	wd, _ := os.Getwd()
	webDir := filepath.Join(wd, "..", "web")
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		t.Fatal("web/node_modules is missing: run make web (cd web && npm ci && npm run build)")
	}
	if !web.Built() {
		t.Fatal("web/dist is not built: run make web (the binary embeds MapLibre from it)")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getuid() != 0 {
			t.Fatal("/usr/bin/chromium is missing: apt-get install chromium")
		}
		if out, err := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium").CombinedOutput(); err != nil {
			t.Fatalf("install chromium: %v\n%s", err, out)
		}
	}
	e := newPublicEnv(t)
	e.srv.Start(t.Context())
	shots := t.TempDir()
	if d := os.Getenv("RISKZONE_SCREENSHOTS"); d != "" {
		shots = d
	}
	for i, p := range []string{fmt.Sprintf("/counties/%d", e.sum.CountyID), fmt.Sprintf("/embed?county=%d&lang=en", e.sum.CountyID)} {
		shot := filepath.Join(shots, fmt.Sprintf("map-%d.png", i))
		cmd := exec.Command(node, filepath.Join(webDir, "e2e", "embed.mjs"), e.ts.URL+p, shot)
		cmd.Dir = webDir
		out, err := cmd.Output()
		var r struct {
			Ready        bool     `json:"ready"`
			Layers       []string `json:"layers"`
			ZoneLayers   []string `json:"zoneLayers"`
			ZoneFeatures int      `json:"zoneFeatures"`
			ZonePixels   int      `json:"zonePixels"`
			Colours      int      `json:"colours"`
			Errors       []string `json:"errors"`
			MapError     string   `json:"mapError"`
		}
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			var ee *exec.ExitError
			if errorsAs(err, &ee) {
				t.Fatalf("%s: %v: %s %s", p, err, out, ee.Stderr)
			}
			t.Fatalf("%s: %v: %s", p, jerr, out)
		}
		t.Logf("%s: layers %v, zone features %d, zone pixels %d, colours %d, errors %v, screenshot %s", p, r.Layers, r.ZoneFeatures,
			r.ZonePixels, r.Colours, r.Errors, shot)
		if err != nil || !r.Ready || len(r.ZoneLayers) == 0 || r.ZoneFeatures == 0 || r.ZonePixels == 0 || r.Colours < 2 {
			t.Errorf("%s: the map did not render zones: %s", p, out)
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}
