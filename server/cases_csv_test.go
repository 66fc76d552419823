package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// A CSV whose quoting is broken (the fuzzer's find: it crashed the parser)
// answers 400 naming the problem and stores nothing.
func TestCasesCSVMalformedQuoting(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	seedCounty(t, e)
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	epi := e.login("epi", "correct horse battery")
	for _, body := range []string{
		"case_no,kind,report_date,unit_id,exclusion_category,exclusion_assessment\n\"000000",
		"case_no,kind,report_date,building_id\nK1,confirmed,2022-11-20,1\n\"K2,confirmed",
		"case_no,kind,report_date,building_id\nK1,\"conf\"irmed,2022-11-20,1\n",
	} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/cases?county=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("X-CSRF-Token", epi.csrf)
		req.AddCookie(epi.cookie)
		hr, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(hr.Body)
		hr.Body.Close()
		if hr.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "CSV") {
			t.Errorf("CSV %q: %d %s, want 400 naming the CSV problem", body, hr.StatusCode, b)
		}
	}
	if n := e.count("cases"); n != 0 {
		t.Fatalf("malformed CSV stored %d cases", n)
	}
}
