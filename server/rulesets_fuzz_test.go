package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// Rule-set assignment bodies and county ids through the real route, as an
// admin: the request decodes and validates to a domain error or nil, and the
// route never answers 5xx; the county, unknown, is never changed.
func FuzzRuleSetAssignment(f *testing.F) {
	srv, _ := fuzzEnv(f)
	ctx := context.Background()
	u, err := srv.store.CreateUser(ctx, zoning.Origin{Actor: zoning.CLI()}, zoning.NewUser{Username: "fuzz-admin", Role: zoning.RoleAdmin, DisplayName: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	tok, prefix, err := zoning.NewAPIToken()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := srv.store.CreateAPIToken(ctx, zoning.Origin{Actor: zoning.CLI()}, u.ID, "fuzz", prefix, zoning.HashSecret(tok), nil); err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct{ county, body string }{
		{"999999", `{"rule_set_id":"2022-06","reason":"第九版"}`}, {"1", `{"rule_set_id":"","reason":"x"}`},
		{"0", `{"rule_set_id":"2022-06"}`}, {"-1", `{}`}, {"abc", `[1]`}, {"99999999999999999999", `{"rule_set_id":1}`},
		{"5", `{"rule_set_id":"2022-06","reason":"` + string(make([]byte, 3000)) + `"}`}, {"7", ``},
	} {
		f.Add(s.county, s.body)
	}
	f.Fuzz(func(t *testing.T, county, body string) {
		var req zoning.RuleSetAssignment
		if err := decodeJSON([]byte(body), &req); err != nil {
			domainError(t, "decode rule-set assignment", err)
		} else {
			domainError(t, "validate rule-set assignment", req.Validate())
		}
		h := http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
		path := "/api/v1/counties/" + county + "/rule-set"
		if rec := serve(srv, "PUT", path, "", h, body); rec.Code >= 500 || rec.Code == http.StatusOK {
			t.Fatalf("PUT %q: %d %s", path, rec.Code, rec.Body)
		}
	})
}
