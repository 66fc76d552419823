package server

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// xmllint runs Debian's xmllint with args on a file holding doc.
func xmllint(t *testing.T, doc []byte, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is missing: apt-get install libxml2-utils (make deps does)")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append(append([]string{"--noout"}, args...), f)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint %v: %v\n%s\n%s", args, err, out, doc)
	}
}

type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

type capDoc struct {
	Identifier string `xml:"identifier"`
	Sender     string `xml:"sender"`
	Sent       string `xml:"sent"`
	Status     string `xml:"status"`
	MsgType    string `xml:"msgType"`
	References string `xml:"references"`
	Infos      []struct {
		Language  string `xml:"language"`
		Category  string `xml:"category"`
		Effective string `xml:"effective"`
		Onset     string `xml:"onset"`
		Expires   string `xml:"expires"`
		Areas     []struct {
			Desc     string   `xml:"areaDesc"`
			Polygons []string `xml:"polygon"`
		} `xml:"area"`
	} `xml:"info"`
}

// checkFeeds: the Atom feed parses (xmllint and encoding/xml), has the
// required RFC 4287 elements, and its links resolve; every CAP message
// validates against the OASIS schema and gets the easy-to-miss rules right.
func checkFeeds(t *testing.T, e *publicEnv) {
	res := e.get("/notices.atom", http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Errorf("atom content type %q", ct)
	}
	xmllint(t, res.body)
	var feed atomDoc
	if err := xml.Unmarshal(res.body, &feed); err != nil {
		t.Fatalf("atom: %v", err)
	}
	if feed.ID == "" || feed.Title == "" || feed.Updated == "" || len(feed.Entries) != len(e.story.Notices) {
		t.Fatalf("atom feed %+v", feed)
	}
	self := false
	for _, l := range feed.Links {
		self = self || l.Rel == "self"
	}
	if !self {
		t.Error("atom feed has no self link")
	}
	for _, en := range feed.Entries {
		if en.ID == "" || en.Title == "" || en.Updated == "" {
			t.Errorf("atom entry %+v lacks id, title or updated", en)
		}
		kinds := map[string]bool{}
		for _, l := range en.Links {
			kinds[l.Type] = true
			u, err := url.Parse(l.Href)
			if err != nil || !u.IsAbs() {
				t.Errorf("atom link %q is not absolute", l.Href)
				continue
			}
			e.get(u.RequestURI(), http.StatusOK)
		}
		if !kinds["text/html"] || !kinds["application/cap+xml"] {
			t.Errorf("atom entry %s links %v: want the page and the CAP file", en.ID, kinds)
		}
	}

	schema := filepath.Join(repoShared(t), "data", "schemas", "CAP-v1.2.xsd")
	var msgs []capDoc
	for _, id := range e.story.Notices {
		res := e.get(fmt.Sprintf("/notices/%d.cap", id), http.StatusOK)
		xmllint(t, res.body, "--schema", schema)
		var c capDoc
		if err := xml.Unmarshal(res.body, &c); err != nil {
			t.Fatal(err)
		}
		checkCAPRules(t, c, res.body)
		msgs = append(msgs, c)
		again := e.get(fmt.Sprintf("/notices/%d.cap", id), http.StatusOK)
		if string(again.body) != string(res.body) || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("CAP of notice %d is not served as a fixed file", id)
		}
	}
	// The lift of one zone leaves the others in force: an Update carrying
	// them (a Cancel would withdraw the whole chain).
	if msgs[0].MsgType != "Alert" || msgs[1].MsgType != "Update" || msgs[2].MsgType != "Update" {
		t.Fatalf("message types %s %s %s", msgs[0].MsgType, msgs[1].MsgType, msgs[2].MsgType)
	}
	triple := func(c capDoc) string { return c.Sender + "," + c.Identifier + "," + c.Sent }
	if msgs[1].References != triple(msgs[0]) {
		t.Errorf("Update references %q, want the Alert %q", msgs[1].References, triple(msgs[0]))
	}
	if msgs[2].References != triple(msgs[0])+" "+triple(msgs[1]) {
		t.Errorf("the lift's Update references %q: want the whole chain", msgs[2].References)
	}
	if n1, n2 := len(msgs[1].Infos[0].Areas), len(msgs[2].Infos[0].Areas); n2 != n1-1 {
		t.Errorf("the Update lifting one of %d zones has %d areas: want the zones still in force", n1, n2)
	}
}

var capTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)

func checkCAPRules(t *testing.T, c capDoc, doc []byte) {
	t.Helper()
	if strings.Contains(string(doc), "Z<") {
		t.Errorf("CAP %s has a time in Z", c.Identifier)
	}
	sent, err := zoning.ParseCAPTime(c.Sent)
	if err != nil || !capTime.MatchString(c.Sent) {
		t.Errorf("sent %q", c.Sent)
	}
	if len(c.Infos) != 2 || c.Infos[0].Language != "zh-CN" || c.Infos[1].Language != "en" {
		t.Errorf("CAP %s infos %d: want zh-CN and en", c.Identifier, len(c.Infos))
	}
	for _, in := range c.Infos {
		if in.Category != "Health" {
			t.Errorf("category %q", in.Category)
		}
		for name, v := range map[string]string{"effective": in.Effective, "onset": in.Onset, "expires": in.Expires} {
			tv, err := zoning.ParseCAPTime(v)
			if err != nil || !capTime.MatchString(v) {
				t.Errorf("%s %q", name, v)
				continue
			}
			if tv.Before(sent) {
				t.Errorf("%s %s is before sent %s", name, v, c.Sent)
			}
		}
		for _, a := range in.Areas {
			if a.Desc == "" || len([]rune(a.Desc)) > 120 || len(a.Polygons) == 0 {
				t.Errorf("area %+v", a)
			}
			for _, p := range a.Polygons {
				pairs := strings.Fields(p)
				if len(pairs) < 4 || pairs[0] != pairs[len(pairs)-1] {
					t.Errorf("polygon not closed or too short: %s", p)
				}
				for _, pair := range pairs {
					var lat, lon float64
					if _, err := fmt.Sscanf(pair, "%g,%g", &lat, &lon); err != nil {
						t.Fatalf("pair %q", pair)
					}
					// The demo county lies near 117°E, 36°N: lat first.
					if lat < 20 || lat > 50 || lon < 100 || lon > 130 {
						t.Errorf("pair %q is not lat,lon", pair)
					}
					if i := strings.Index(pair, "."); i >= 0 {
						for _, part := range strings.Split(pair, ",") {
							if j := strings.Index(part, "."); j >= 0 && len(part)-j-1 > 7 {
								t.Errorf("pair %q has more than 7 decimals", pair)
							}
						}
					}
				}
			}
		}
	}
}
