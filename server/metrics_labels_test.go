package server

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// Label values come from closed sets: 1,000 requests with random methods on
// random paths add no time series beyond the fixed methods and route
// templates (an anonymous client must not be able to grow the registry).
func TestMetricsLabelsAreClosedSets(t *testing.T) {
	// A thousand requests from loopback: exempt from the per-address limit,
	// which this test is not about.
	e := newTestEnv(t, Config{Limits: LimitConfig{ExemptLoopback: true}}, nil)
	admin := e.apiToken("ops", zoning.RoleAdmin)
	var last []string
	series := func() (n int, methods map[string]bool) {
		last = nil
		res := e.do(request{method: "GET", path: "/metrics", bearer: admin}).expect(t, http.StatusOK, "metrics")
		methods = map[string]bool{}
		for _, line := range strings.Split(string(res.body), "\n") {
			if !strings.HasPrefix(line, "riskzone_http_request_duration_seconds_count{") {
				continue
			}
			n++
			last = append(last, line[:strings.LastIndexByte(line, '}')+1])
			if i := strings.Index(line, `method="`); i >= 0 {
				rest := line[i+len(`method="`):]
				methods[rest[:strings.IndexByte(rest, '"')]] = true
			}
		}
		return n, methods
	}
	// Warm up: each route the random requests can hit, once with an odd method.
	paths := []string{"/healthz", "/zones/1", "/api/v1/zones", "/nowhere/at/all", "/tiles/zones/12/3370/1552.mvt"}
	for _, p := range paths {
		e.do(request{method: "BREW", path: p})
		e.do(request{method: "GET", path: p})
	}
	series() // the scrape itself is a series from the next scrape on
	before, _ := series()
	warm := last
	rng := rand.New(rand.NewPCG(7, 11))
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i := 0; i < 1000; i++ {
		var b strings.Builder
		for j := 0; j < 3+rng.IntN(8); j++ {
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		method := fmt.Sprintf("%s%d", b.String(), i)
		e.do(request{method: method, path: paths[rng.IntN(len(paths))] + fmt.Sprintf("?n=%d", i)})
	}
	after, methods := series()
	if after != before {
		t.Errorf("%d request-duration series after 1,000 random methods, %d before: labels are not a closed set\nbefore %v\nafter %v", after, before, warm, last)
	}
	for m := range methods {
		switch m {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER":
		default:
			t.Errorf("method label %q is outside the closed set", m)
		}
	}
	if !methods["OTHER"] {
		t.Error("random methods are not counted as OTHER")
	}
}
