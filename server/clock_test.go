package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// serverClock is the injectable clock of Config.Now.
type serverClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *serverClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the clock to day d at hh:mm in China (UTC+8).
func (c *serverClock) set(t *testing.T, d, hhmm string) {
	t.Helper()
	v, err := time.Parse(time.RFC3339, d+"T"+hhmm+":00+08:00")
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = v
}

// The API on China's clock (issue 17 §3): case registration with today's
// report date, the designation date, extend by a new case, screening dates
// and the lifting status are days in China whatever the UTC day, at 00:30,
// 07:59 (23:59 UTC the day before) and 23:59 local time. The database
// sessions run in UTC.
func TestAPIOnChinasClock(t *testing.T) {
	for _, hh := range []string{"00:30", "07:59", "23:59"} {
		t.Run(strings.ReplaceAll(hh, ":", ""), func(t *testing.T) { apiClockRun(t, hh) })
	}
}

func apiClockRun(t *testing.T, hh string) {
	clk := &serverClock{}
	e := newTestEnv(t, Config{BodyLimit: "1M", Now: clk.Now}, nil)
	seedCounty(t, e)
	for _, u := range []string{"alice", "bob"} {
		e.addUser(u, zoning.RoleExpert, "correct horse battery")
	}
	api := &zoneAPI{testEnv: e, alice: e.login("alice", "correct horse battery"), bob: e.login("bob", "correct horse battery")}
	var tz string
	if err := e.store.Pool.QueryRow(t.Context(), `SHOW TimeZone`).Scan(&tz); err != nil || tz != "UTC" {
		t.Fatalf("session time zone %q %v, want UTC", tz, err)
	}
	newCase := func(no, report string) response {
		return api.call(api.alice, "POST", "/api/v1/cases", map[string]any{"case_no": no, "county_id": 1, "kind": "confirmed",
			"report_date": report, "residence": map[string]any{"unit_id": 12}}, nil)
	}

	// Designation on 2022-11-19 at hh local.
	clk.set(t, "2022-11-19", hh)
	newCase("T1", "2022-11-18").expect(t, http.StatusCreated, "case of the day before")
	z := api.designateOne(t)
	if z.Current.ClockStart.String() != "2022-11-19" || z.Current.EarliestLifting.String() != "2022-11-24" {
		t.Fatalf("approved at %s local: clock %s earliest %s; want 2022-11-19, 2022-11-24", hh, z.Current.ClockStart, z.Current.EarliestLifting)
	}
	zpath := fmt.Sprintf("/api/v1/zones/%d", z.ID)

	// On 2022-11-21 at hh local: a case reported today is accepted and
	// extends the zone at once; tomorrow's is refused.
	clk.set(t, "2022-11-21", hh)
	newCase("T2", "2022-11-22").expectError(t, http.StatusBadRequest, "future", "a report dated tomorrow (local)")
	newCase("T3", "2022-11-21").expect(t, http.StatusCreated, "a report dated today (local)")
	api.call(api.bob, "GET", zpath, nil, nil).expect(t, http.StatusOK, "zone").decode(t, &z)
	if z.Current.Change != zoning.ChangeExtend || z.Current.ClockStart.String() != "2022-11-21" {
		t.Fatalf("after today's case: change %s clock %s", z.Current.Change, z.Current.ClockStart)
	}
	var ls zoning.LiftingStatus
	api.call(api.bob, "GET", zpath+"/lifting", nil, nil).expect(t, http.StatusOK, "lifting").decode(t, &ls)
	if ls.Today.String() != "2022-11-21" || ls.LastInfection.String() != "2022-11-21" || ls.EarliestLifting.String() != "2022-11-26" || ls.Eligible {
		t.Fatalf("lifting on day 0: %+v", ls)
	}
	round := func(d string) map[string]any {
		return map[string]any{"round_date": d, "tested": z.Current.Population, "negatives": z.Current.Population}
	}
	api.call(api.bob, "POST", zpath+"/screenings", round("2022-11-22"), nil).expectError(t, http.StatusBadRequest, "future", "round dated tomorrow")
	api.call(api.bob, "POST", zpath+"/screenings", round("2022-11-21"), nil).expect(t, http.StatusCreated, "round dated today")

	// Day 5 at hh local: eligible with the round dated that day.
	clk.set(t, "2022-11-26", hh)
	api.call(api.bob, "GET", zpath+"/lifting", nil, nil).expect(t, http.StatusOK, "lifting").decode(t, &ls)
	if ls.Today.String() != "2022-11-26" || ls.CleanStreakDays != 5 || ls.Eligible {
		t.Fatalf("lifting on day 5 before its round: %+v", ls)
	}
	api.call(api.bob, "POST", zpath+"/screenings", round("2022-11-27"), nil).expectError(t, http.StatusBadRequest, "future", "round of day 6")
	var scr struct {
		Screening zoning.Screening
		Lifting   zoning.LiftingStatus
	}
	api.call(api.bob, "POST", zpath+"/screenings", round("2022-11-26"), nil).expect(t, http.StatusCreated, "round of day 5").decode(t, &scr)
	if !scr.Lifting.Eligible || scr.Screening.Partial || scr.Lifting.Today.String() != "2022-11-26" {
		t.Fatalf("after the round of day 5: %+v", scr)
	}
}

// A partial round through the API: refused without a reason (400, nothing
// written), shown as partial coverage with one.
func TestAPIPartialScreening(t *testing.T) {
	clk := &serverClock{}
	e := newTestEnv(t, Config{BodyLimit: "1M", Now: clk.Now}, nil)
	seedCounty(t, e)
	for _, u := range []string{"alice", "bob"} {
		e.addUser(u, zoning.RoleExpert, "correct horse battery")
	}
	api := &zoneAPI{testEnv: e, alice: e.login("alice", "correct horse battery"), bob: e.login("bob", "correct horse battery")}
	clk.set(t, "2022-11-21", "03:10")
	api.call(api.alice, "POST", "/api/v1/cases", map[string]any{"case_no": "P1", "county_id": 1, "kind": "confirmed",
		"report_date": "2022-11-20", "residence": map[string]any{"unit_id": 12}}, nil).expect(t, http.StatusCreated, "case")
	z := api.designateOne(t)
	zpath := fmt.Sprintf("/api/v1/zones/%d/screenings", z.ID)
	pop := z.Current.Population
	api.call(api.bob, "POST", zpath, map[string]any{"round_date": "2022-11-21", "tested": pop - 1, "negatives": pop - 1}, nil).
		expectError(t, http.StatusBadRequest, "partial_reason", "round short of one")
	if n := e.count("screenings"); n != 0 {
		t.Fatalf("a refused round wrote %d screenings", n)
	}
	var scr struct{ Screening map[string]any }
	api.call(api.bob, "POST", zpath, map[string]any{"round_date": "2022-11-21", "tested": pop - 1, "negatives": pop - 1,
		"partial_reason": "one resident abroad"}, nil).expect(t, http.StatusCreated, "partial round").decode(t, &scr)
	if scr.Screening["partial_coverage"] != true || scr.Screening["partial_reason"] != "one resident abroad" ||
		scr.Screening["zone_population"] != float64(pop) {
		t.Fatalf("partial round answered %v", scr.Screening)
	}
}

// designateOne runs the engine as alice, expects one proposal and approves
// it as bob.
func (e *zoneAPI) designateOne(t *testing.T) zoning.Zone {
	t.Helper()
	res := e.call(e.alice, "POST", "/api/v1/proposals", map[string]any{"county_id": 1}, nil).expect(t, http.StatusCreated, "propose")
	var fc struct {
		Features []struct{ Properties map[string]any }
	}
	res.decode(t, &fc)
	var ids []int64
	for _, f := range fc.Features {
		if id, ok := f.Properties["proposal_id"].(float64); ok {
			ids = append(ids, int64(id))
		}
	}
	if len(ids) != 1 {
		t.Fatalf("proposals %v, want one: %s", ids, res.body)
	}
	var z zoning.Zone
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0]), map[string]any{"reason": "designate"}, nil).
		expect(t, http.StatusCreated, "approve").decode(t, &z)
	return z
}

// The OGC cases collection dates a case by its report day in the county's
// calendar, and a datetime date is a China day: a case reported on
// 2022-11-21 is in force from 00:00 to 23:59 Beijing time that day.
func TestOGCCaseDaysAreChinaDays(t *testing.T) {
	clk := &serverClock{}
	e := newTestEnv(t, Config{BodyLimit: "1M", Now: clk.Now}, nil)
	seedCounty(t, e)
	e.addUser("alice", zoning.RoleExpert, "correct horse battery")
	api := &zoneAPI{testEnv: e, alice: e.login("alice", "correct horse battery")}
	clk.set(t, "2022-11-21", "00:30")
	api.call(api.alice, "POST", "/api/v1/cases", map[string]any{"case_no": "O1", "county_id": 1, "kind": "confirmed",
		"report_date": "2022-11-21", "residence": map[string]any{"unit_id": 12}}, nil).expect(t, http.StatusCreated, "case")
	for dt, want := range map[string]int{
		"2022-11-21T00:30:00+08:00": 1, "2022-11-21T23:59:00+08:00": 1, "2022-11-20T23:59:00+08:00": 0, "2022-11-22T00:00:00+08:00": 0,
		"2022-11-21": 1, "2022-11-20": 0, "2022-11-22": 0, "../2022-11-20T16:30:00Z": 1,
	} {
		var page struct {
			NumberMatched int `json:"numberMatched"`
		}
		api.call(api.alice, "GET", "/ogc/collections/cases/items?datetime="+strings.ReplaceAll(dt, "+", "%2B"), nil, nil).
			expect(t, http.StatusOK, dt).decode(t, &page)
		if page.NumberMatched != want {
			t.Errorf("datetime=%s: %d cases, want %d", dt, page.NumberMatched, want)
		}
	}
}
