package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// storyReport is what TestExpertAppInBrowser reads from the runner's JSON
// report (web/e2e/playwright.config.mjs writes it to $RZ_REPORT): each
// test with its status, time, errors and attachments. The fixtures of
// web/e2e/fixtures.mjs attach to every test a "guard" (what its page did
// that fails a story, and what is only logged) and the screenshots; a
// story may attach "metrics" (the budgets story: firstLoad).
type storyReport struct {
	stories   []story
	errors    []string // the runner's errors outside any test
	metrics   map[string]json.RawMessage
	firstLoad firstLoad
	notes     []string
	http      []string
	console   []string
}

type story struct {
	name, status string // "file › title", and the runner's status
	ms           int
	errors       []string
	screenshots  []string
	guard        storyGuard
	guarded      bool
}

// storyGuard is the "guard" attachment of web/e2e/fixtures.mjs.
type storyGuard struct {
	PageErrors []string `json:"pageErrors"`
	CSP        []string `json:"csp"`
	Foreign    []string `json:"foreign"`
	HTTP       []string `json:"http"`
	Console    []string `json:"console"`
	Notes      []string `json:"notes"`
}

type firstLoad struct {
	FirstRenderMs          int   `json:"firstRenderMs"` // the median of three reloads
	FirstRenderRunsMs      []int `json:"firstRenderRunsMs"`
	AppAssetsTransferBytes int   `json:"appAssetsTransferBytes"`
}

// The parts of Playwright's JSON report that are read.
type pwSuite struct {
	Title  string    `json:"title"`
	File   string    `json:"file"`
	Specs  []pwSpec  `json:"specs"`
	Suites []pwSuite `json:"suites"`
}

type pwSpec struct {
	Title string `json:"title"`
	File  string `json:"file"`
	Tests []struct {
		Status  string `json:"status"` // expected, unexpected, flaky, skipped
		Results []struct {
			Status   string `json:"status"`
			Duration int    `json:"duration"`
			Errors   []struct {
				Message string `json:"message"`
			} `json:"errors"`
			Attachments []struct {
				Name        string `json:"name"`
				ContentType string `json:"contentType"`
				Path        string `json:"path"`
				Body        []byte `json:"body"` // base64 in the report
			} `json:"attachments"`
		} `json:"results"`
	} `json:"tests"`
}

func readStoryReport(raw []byte) (*storyReport, error) {
	var rep struct {
		Suites []pwSuite `json:"suites"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("read the runner's report: %w", err)
	}
	r := &storyReport{metrics: map[string]json.RawMessage{}}
	for _, e := range rep.Errors {
		r.errors = append(r.errors, e.Message)
	}
	var walk func(s pwSuite, path []string) error
	walk = func(s pwSuite, path []string) error {
		if s.Title != "" && s.Title != s.File {
			path = append(path, s.Title)
		}
		for _, sp := range s.Specs {
			name := strings.Join(append(append([]string{sp.File}, path...), sp.Title), " › ")
			for _, t := range sp.Tests {
				st := story{name: name, status: t.Status}
				for _, res := range t.Results {
					st.ms += res.Duration
					for _, e := range res.Errors {
						st.errors = append(st.errors, ansi.ReplaceAllString(e.Message, ""))
					}
					for _, a := range res.Attachments {
						switch {
						case a.ContentType == "image/png" && a.Name != "screenshot": // the runner's own one on failure
							st.screenshots = append(st.screenshots, a.Path)
						case a.Name == "guard":
							if err := json.Unmarshal(a.Body, &st.guard); err != nil {
								return fmt.Errorf("story %s: guard: %w", name, err)
							}
							st.guarded = true
						case a.Name == "metrics":
							var m map[string]json.RawMessage
							if err := json.Unmarshal(a.Body, &m); err != nil {
								return fmt.Errorf("story %s: metrics: %w", name, err)
							}
							for k, v := range m {
								r.metrics[k] = v
								if k == "firstLoad" {
									if err := json.Unmarshal(v, &r.firstLoad); err != nil {
										return fmt.Errorf("story %s: firstLoad: %w", name, err)
									}
								}
							}
						}
					}
				}
				r.notes = append(r.notes, prefixed(name, st.guard.Notes)...)
				r.http = append(r.http, prefixed(name, st.guard.HTTP)...)
				r.console = append(r.console, prefixed(name, st.guard.Console)...)
				r.stories = append(r.stories, st)
			}
		}
		for _, c := range s.Suites {
			if err := walk(c, path); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range rep.Suites {
		if err := walk(s, nil); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// failed names every story that did not pass (a skipped one did not), with
// the runner's errors.
func (r *storyReport) failed() []string {
	var out []string
	for _, s := range r.stories {
		if s.status != "expected" {
			out = append(out, fmt.Sprintf("story %s: %s\n  %s", s.name, s.status, strings.Join(s.errors, "\n  ")))
		}
	}
	return out
}

// ansi matches the colour codes the runner puts in its error messages.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func prefixed(name string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = name + ": " + l
	}
	return out
}
