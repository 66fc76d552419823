package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// Fuzz targets of the JSON bodies of every write, one per family, pure (no
// database): each body is decoded as its handler decodes it (decodeJSON,
// strict) and validated as the store validates it before anything is read.
// The property: bad input is a zoning.ErrInvalid or ErrTooLarge error with a
// message, never a panic nor another error; a body that is accepted,
// encoded again, is accepted again (what is stored is what was checked).

// fuzzNow is the clock of the validations that need one (a county's day,
// the earliest effective time of a notice).
var fuzzNow = time.Date(2022, 11, 21, 10, 0, 0, 0, time.UTC)

// bodyKind decodes and validates one write's body; it answers the accepted
// value.
type bodyKind struct {
	name  string
	check func(body []byte) (any, error)
}

// strict decodes one JSON object into a T as the handlers do and validates
// it.
func strict[T any](validate func(*T) error) func([]byte) (any, error) {
	return func(body []byte) (any, error) {
		var v T
		if err := decodeJSON(body, &v); err != nil {
			return nil, err
		}
		if err := validate(&v); err != nil {
			return nil, err
		}
		return &v, nil
	}
}

// oneOrMany decodes as createCases and addTraces do: a JSON array is a
// batch, anything else one element.
func oneOrMany[T any](body []byte) ([]T, error) {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		var list []T
		if err := decodeJSON(body, &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	var one T
	if err := decodeJSON(body, &one); err != nil {
		return nil, err
	}
	return []T{one}, nil
}

// stepBody decodes as stepProposal does: an empty body is no reason.
func stepBody(body []byte) (any, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return nil, err
		}
	}
	return &req, nil
}

// fuzzBodies runs every kind of a family on body and checks the property.
func fuzzBodies(t *testing.T, kinds []bodyKind, body []byte) {
	t.Helper()
	for _, k := range kinds {
		v, err := k.check(body)
		if err != nil {
			if kind := zoning.Kind(err); kind != zoning.ErrInvalid && kind != zoning.ErrTooLarge {
				t.Fatalf("%s: refusal is not ErrInvalid/ErrTooLarge (kind %v): %v", k.name, kind, err)
			}
			if strings.TrimSpace(zoning.Message(err)) == "" {
				t.Fatalf("%s: refusal without a message: %v", k.name, err)
			}
			continue
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: accepted %q, but it does not encode: %v", k.name, body, err)
		}
		if _, err := k.check(again); err != nil {
			t.Fatalf("%s: accepted %q, but not its encoding %s: %v", k.name, body, again, err)
		}
	}
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// seedPoly is a valid small polygon for the geometry-carrying bodies.
const seedPoly = `{"type":"Polygon","coordinates":[[[117,36],[117.001,36],[117.001,36.001],[117,36]]]}`

// Bodies that never decode, for every family.
var brokenBodies = []string{``, ` `, `null`, `[]`, `[1,2]`, `{`, `{}`, `{"x":1}`, `{"reason":1}`, `{} {}`, `"s"`, `{"reason":"\ud800"}`}

// Proposal decisions: approve, reject, enlarge and shrink.
func FuzzProposalBodies(f *testing.F) {
	addSeeds(f, brokenBodies...)
	addSeeds(f,
		`{"reason":"two cases in the building"}`,
		`{"reason":"ok","name":"东区","level":"medium"}`,
		`{"reason":"ok","geometry":`+seedPoly+`}`,
		`{"reason":"ok","add_buildings":[1,2],"remove_units":[3]}`,
		`{"reason":"ok","geometry":`+seedPoly+`,"add_buildings":[1]}`,
		`{"reason":"ok","add_buildings":[1,1]}`, `{"reason":"ok","add_units":[4],"remove_units":[4]}`,
		`{"reason":"ok","add_buildings":[0]}`, `{"reason":"ok","level":"`+strings.Repeat("x", 40)+`"}`,
		`{"reason":"   "}`, `{"reason":"`+strings.Repeat("长", 3000)+`"}`, `{"reason":"ok","geometry":{"type":"Point","coordinates":[1,2]}}`,
	)
	kinds := []bodyKind{
		{"approve", strict(func(r *zoning.ApproveRequest) error { return r.Validate() })},
		{"reject", strict(func(r *zoning.RejectRequest) error { return r.Validate() })},
		{"enlarge/shrink", stepBody},
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBodies(t, kinds, body) })
}

// Zone edits: geometry, members, split, merge, lift and screening.
func FuzzZoneEditBodies(f *testing.F) {
	addSeeds(f, brokenBodies...)
	addSeeds(f,
		`{"version":1,"reason":"adjust to the river","geometry":`+seedPoly+`}`,
		`{"version":-1,"reason":"r","geometry":`+seedPoly+`}`, `{"version":1e99}`, `{"version":"1"}`,
		`{"version":2,"reason":"r","add_buildings":[5],"remove_buildings":[6]}`,
		`{"version":1,"reason":"split","parts":[`+seedPoly+`,`+seedPoly+`],"names":["a","b"]}`,
		`{"reason":"split","parts":[`+seedPoly+`]}`, `{"reason":"split","parts":[`+seedPoly+`,{}],"names":["a"]}`,
		`{"reason":"merge","zones":[{"id":1,"version":2},{"id":2,"version":1}],"name":"合并"}`,
		`{"reason":"merge","zones":[{"id":1,"version":2},{"id":1,"version":2}]}`, `{"reason":"merge","zones":[{"id":1,"version":0},{"id":2}]}`,
		`{"version":3,"reason":"fourteen days without a case"}`, `{"reason":"short","override":true}`,
		`{"reason":"the county board decided so","override":true}`,
		`{"round_date":"2022-11-20","tested":100,"negatives":100,"positives":0}`,
		`{"round_date":"2022-11-20","population":120,"tested":100,"negatives":99,"positives":1,"partial_reason":"some away"}`,
		`{"round_date":"2099-01-01","tested":1,"negatives":1}`, `{"round_date":"2022-11-20","tested":1,"negatives":2}`,
		`{"round_date":"2022-13-40","tested":-1}`, `{"round_date":"2022-11-20","tested":1,"population":-5}`,
	)
	today := zoning.DateOf(fuzzNow, zoning.ChinaTime())
	kinds := []bodyKind{
		{"geometry edit", strict(func(r *zoning.GeometryEdit) error { return r.Validate() })},
		{"members edit", strict(func(r *zoning.MembersEdit) error { return r.Validate() })},
		{"split", strict(func(r *zoning.SplitRequest) error { return r.Validate() })},
		{"merge", strict(func(r *zoning.MergeRequest) error { return r.Validate() })},
		{"lift", strict(func(r *zoning.LiftRequest) error { return r.Validate() })},
		{"screening", strict(func(r *zoning.NewScreening) error { _, err := r.Validate(today); return err })},
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBodies(t, kinds, body) })
}

// Notices: publish and correction.
func FuzzNoticeBodies(f *testing.F) {
	addSeeds(f, brokenBodies...)
	addSeeds(f,
		`{"county_id":1}`, `{"county_id":1,"zone_ids":[3,4],"status":"exercise","note":"第一号通告","reason":"daily"}`,
		`{"county_id":1,"effective_at":"2022-11-21T20:00:00+08:00"}`, `{"county_id":1,"effective_at":"2001-01-01T00:00:00Z"}`,
		`{"county_id":1,"effective_at":"2099-01-01T00:00:00Z"}`, `{"county_id":1,"effective_at":"yesterday"}`,
		`{"county_id":0}`, `{"county_id":1,"status":"draft"}`, `{"county_id":1,"zone_ids":[2,2]}`, `{"county_id":1,"note":"a\u0007b"}`,
		`{"note":"the street name was wrong"}`, `{"note":"  "}`, `{"note":"fix","effective_at":"2022-11-21T10:00:00Z","reason":"typo"}`,
		`{"reason":"checked against the hotline list"}`, `{"reason":7}`, `{}`,
	)
	kinds := []bodyKind{
		{"publish", strict(func(r *zoning.PublishRequest) error { return r.Validate(fuzzNow) })},
		{"correction", strict(func(r *zoning.CorrectionRequest) error { return r.Validate(fuzzNow) })},
		{"correction decision", strict(func(r *zoning.CorrectionDecision) error { return r.Validate() })},
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBodies(t, kinds, body) })
}

// Cases: create (one or a batch), update and traces.
func FuzzCaseBodies(f *testing.F) {
	addSeeds(f, brokenBodies...)
	addSeeds(f,
		`{"case_no":"C1","county_id":1,"kind":"confirmed","report_date":"2022-11-20","residence":{"unit_id":12}}`,
		`[{"case_no":"C1","county_id":1,"kind":"asymptomatic","report_date":"2022-11-20","onset_date":"2022-11-18","residence":{"lon":117.1,"lat":36.2},"source_known":true,"traces":[{"building_id":4,"starts_at":"2022-11-19T08:00:00+08:00","ends_at":"2022-11-19T09:00:00+08:00","activity":"work"}]}]`,
		`{"case_no":"C1","county_id":1,"kind":"confirmed","report_date":"2099-01-01","residence":{"address":"东路 1 号"}}`,
		`{"case_no":"C1","county_id":1,"kind":"confirmed","report_date":"2022-11-20","residence":{"lon":500,"lat":0}}`,
		`{"case_no":"C1","county_id":1,"kind":"confirmed","report_date":"2022-11-20","residence":{"unit_id":1},"exclusion":{"category":"imported","assessment":"arrived in quarantine"}}`,
		`{"case_no":"C1",`, `{"case_no":"C1", "colour": "red"}`, `{"case_no": 5}`, `{"case_no":"=cmd","county_id":1}`,
		`{"kind":"asymptomatic","reason":"test result"}`, `{"report_date":"2022-02-30","reason":"r"}`, `{"clear_exclusion":true,"reason":"r"}`,
		`{"residence":{"building_id":3},"onset_date":"","reason":"moved"}`,
		`{"place_id":1,"starts_at":"2022-11-19T08:00:00Z","ends_at":"2022-11-19T09:00:00Z"}`,
		`[{"lon":117,"lat":36,"starts_at":"2022-11-19T08:00:00Z","ends_at":"2022-11-19T07:00:00Z","enclosed":true}]`,
		`{"lon":117,"starts_at":"2022-11-19T08:00:00Z","ends_at":"2022-11-19T09:00:00Z"}`, `{"building_id":1,"activity":"party"}`,
		`{"contact_no":"M1","county_id":1,"kind":"close","case_no":"C1","identified_at":"2022-11-21T09:00:00+08:00","residence":{"building_id":2}}`,
		`[{"contact_no":"S1","county_id":1,"kind":"secondary","via_contact_no":"M1","identified_at":"2022-11-21T09:00:00Z","residence":{"lon":117,"lat":36}}]`,
		`{"county_id":1,"name":"城东酒店","rooms":80,"occupied":10,"staff":12,"lon":117,"lat":36}`, `{"rooms":5,"reason":"a floor closed"}`,
		`{"name":"南门","kind":"gate","lon":117,"lat":36,"state":"open","staff":2}`, `{"state":"closed","reason":"night"}`,
		`{"step":"contact","note":"phoned"}`, `{"step":"visit","done_at":"2022-11-21T09:00:00+08:00"}`, `{"step":"call"}`,
	)
	today := zoning.DateOf(fuzzNow, zoning.ChinaTime())
	kinds := []bodyKind{
		{"case create", func(body []byte) (any, error) {
			batch, err := oneOrMany[zoning.NewCase](body)
			if err != nil {
				return nil, err
			}
			if len(batch) == 0 {
				return nil, zoning.Errorf(zoning.ErrInvalid, "no cases given")
			}
			if len(batch) > maxBulkCases {
				return nil, zoning.Errorf(zoning.ErrTooLarge, "%d cases in one request: at most %d", len(batch), maxBulkCases)
			}
			for _, c := range batch {
				if err := c.Validate(today); err != nil {
					return nil, err
				}
			}
			return batch, nil
		}},
		{"case update", strict(func(u *zoning.CaseUpdate) error { return u.Validate(today) })},
		{"traces", func(body []byte) (any, error) {
			list, err := oneOrMany[zoning.NewTrace](body)
			if err != nil {
				return nil, err
			}
			if len(list) == 0 {
				return nil, zoning.Errorf(zoning.ErrInvalid, "no traces given")
			}
			for _, tr := range list {
				if err := tr.Validate(); err != nil {
					return nil, err
				}
			}
			return list, nil
		}},
		{"contacts", func(body []byte) (any, error) {
			list, err := oneOrMany[zoning.NewContact](body)
			if err != nil {
				return nil, err
			}
			for _, c := range list {
				if err := c.Validate(fuzzNow, today); err != nil {
					return nil, err
				}
			}
			return list, nil
		}},
		{"sites", func(body []byte) (any, error) {
			list, err := oneOrMany[zoning.NewSite](body)
			if err != nil {
				return nil, err
			}
			for _, st := range list {
				if err := st.Validate(); err != nil {
					return nil, err
				}
			}
			return list, nil
		}},
		{"site edit", strict(func(e *zoning.SiteEdit) error {
			_, err := e.Apply(zoning.Site{Name: "s", Rooms: 10, Occupied: 2, Assigned: 3, Active: true})
			if errors.Is(err, zoning.ErrConflict) {
				return nil // too small for this site's load, valid as input
			}
			return err
		})},
		{"entrance", strict(func(e *zoning.NewEntrance) error { return e.Validate() })},
		{"entrance edit", strict(func(x *zoning.EntranceEdit) error {
			_, err := x.Apply(zoning.Entrance{State: zoning.EntranceOpen})
			return err
		})},
		{"contact step", strict(func(r *zoning.StepRecord) error {
			_, err := r.Validate(zoning.Contact{ContactNo: "M1", IdentifiedAt: fuzzNow.Add(-24 * time.Hour)}, fuzzNow)
			if errors.Is(err, zoning.ErrConflict) {
				return nil // out of order for this contact, valid as input
			}
			return err
		})},
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBodies(t, kinds, body) })
}

// Administration: subscriber creation and rule-set assignment.
func FuzzAdminBodies(f *testing.F) {
	addSeeds(f, brokenBodies...)
	addSeeds(f,
		`{"name":"CDC","url":"https://cdc.example/hook","county_ids":[1,2]}`,
		`{"name":"CDC","url":"http://cdc.example/hook","secret":"0123456789abcdef"}`,
		`{"name":"CDC","url":"https:///x"}`, `{"name":"","url":"ftp://x"}`, `{"name":"x","url":"https://a b"}`,
		`{"name":"x","url":"https://x","secret":"short"}`, `{"name":"x","url":"https://x","county_ids":[-1]}`,
		`{"rule_set_id":"2022-06","reason":"第九版"}`, `{"rule_set_id":"","reason":"x"}`, `{"rule_set_id":1}`,
	)
	kinds := []bodyKind{
		{"subscriber create", strict(func(s *zoning.NewSubscriber) error { return s.Validate() })},
		{"rule-set assignment", strict(func(r *zoning.RuleSetAssignment) error { return r.Validate() })},
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzBodies(t, kinds, body) })
}
