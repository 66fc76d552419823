package zoning

import "strings"

// RuleSetAssignment assigns a rule set to a county (admins; PUT
// /api/v1/counties/:id/rule-set and riskzone county set-rule-set). New
// designations use the county's rule set; zones keep the rule set they were
// designated under.
type RuleSetAssignment struct {
	RuleSetID string `json:"rule_set_id"`
	Reason    string `json:"reason"`
}

// Validate checks the request before anything is read.
func (r RuleSetAssignment) Validate() error {
	if strings.TrimSpace(r.RuleSetID) == "" {
		return Errorf(ErrInvalid, "rule_set_id is required (GET /api/v1/rule-sets lists them)")
	}
	if len(r.RuleSetID) > 64 {
		return Errorf(ErrInvalid, "rule_set_id is longer than 64 bytes")
	}
	return checkReason(r.Reason)
}

// CountyRuleSet is a county's rule set after an assignment: what was written.
type CountyRuleSet struct {
	CountyID int64   `json:"county_id"`
	County   string  `json:"county"`
	RuleSet  RuleSet `json:"rule_set"`
	// Previous is the rule set the county used before (its own or the
	// default).
	Previous string `json:"previous"`
}

// RuleSetInfo is a rule set as listed: the rules, whether it is the default
// and the counties that use it (their own assignment or the default).
type RuleSetInfo struct {
	RuleSet
	Default  bool    `json:"default"`
	Counties []int64 `json:"counties"`
}
