package zoning

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedDir finds ../shared beside the repository (the folder of go.mod).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(filepath.Join(s, "data", "schemas", "CAP-v1.2.xsd")); err != nil {
				t.Fatalf("the CAP schema is missing: want %s beside the repository", filepath.Join(s, "data", "schemas", "CAP-v1.2.xsd"))
			}
			return s
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
}

func validateCAP(t *testing.T, doc []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is missing: apt-get install libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	schema := filepath.Join(sharedDir(t), "data", "schemas", "CAP-v1.2.xsd")
	if out, err := exec.Command("xmllint", "--noout", "--schema", schema, f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, doc)
	}
}

func TestCAPTime(t *testing.T) {
	utc := time.Date(2022, 11, 21, 10, 0, 0, 500, time.UTC)
	if s := CAPTime(utc); s != "2022-11-21T10:00:00-00:00" {
		t.Errorf("UTC %q", s)
	}
	if s := CAPTime(utc.In(ChinaTime())); s != "2022-11-21T18:00:00+08:00" {
		t.Errorf("China %q", s)
	}
	if _, err := ParseCAPTime("2022-11-21T10:00:00Z"); err == nil {
		t.Error("a Z time was accepted")
	}
}

func TestCAPPolygon(t *testing.T) {
	// lon,lat in, lat,lon out; rounded to 7 decimals (the public map's); closed.
	p, err := CAPPolygon([][2]float64{{117.12345674, 36.1}, {117.2, 36.1}, {117.2, 36.2}, {117.12345674, 36.2}})
	if err != nil {
		t.Fatal(err)
	}
	if p != "36.1,117.1234567 36.1,117.2 36.2,117.2 36.2,117.1234567 36.1,117.1234567" {
		t.Errorf("polygon %q", p)
	}
	if _, err := CAPPolygon([][2]float64{{0, 0}, {1, 1}, {0, 0}}); err == nil {
		t.Error("a degenerate ring was accepted")
	}
	if _, err := CAPPolygon([][2]float64{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}); err == nil {
		t.Error("a bow tie was accepted")
	}
	// Points closer than 1e-7 collapse when rounded: the duplicate is dropped.
	p, err = CAPPolygon([][2]float64{{0, 0}, {1, 0}, {1.00000001, 0}, {1, 1}, {0, 1}, {0, 0}})
	if err != nil || strings.Count(p, " ") != 4 {
		t.Errorf("rounded duplicates: %q %v", p, err)
	}
}

// Alert, Update and Cancel validate against the OASIS schema, with two
// polygons (a multipolygon) in one area, UTC times as -00:00 and references.
func TestCAPMessages(t *testing.T) {
	sent := time.Date(2022, 11, 21, 10, 0, 0, 0, time.UTC)
	area := CAPArea{Desc: "城建花园小区73号楼等", Geocodes: []CAPValue{{CAPGeocodeZone, "7"}, {CAPGeocodeVersion, "2"}}, Rings: [][][2]float64{
		{{117, 36}, {117.001, 36}, {117.001, 36.001}, {117, 36.001}, {117, 36}},
		{{117.01, 36}, {117.011, 36}, {117.011, 36.001}, {117.01, 36}},
	}}
	info := func(lang string) CAPInfo {
		return CAPInfo{Language: lang, Event: "risk zones", ResponseType: "Shelter", Urgency: "Immediate", Severity: "Severe",
			Certainty: "Observed", Headline: "h & <b>", Description: "line 1\nline 2", Instruction: "stay home", SenderName: "指挥部",
			Web: "https://example.org/notices/1", Areas: []CAPArea{area}}
	}
	alert := CAPMessage{Identifier: "riskzone-1-1-abcd", Sender: "riskzone@example.org", Sent: sent, Status: "Actual", MsgType: CAPAlert,
		Effective: sent, Onset: sent, Expires: sent.Add(48 * time.Hour), Infos: []CAPInfo{info("zh-CN"), info("en")}}
	doc, err := alert.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	validateCAP(t, doc)
	if !strings.Contains(string(doc), "<sent>2022-11-21T10:00:00-00:00</sent>") || strings.Count(string(doc), "<polygon>") != 4 ||
		strings.Count(string(doc), "<valueName>riskzone:zone</valueName>") != 2 || strings.Count(string(doc), "<value>7</value>") != 2 {
		t.Errorf("alert:\n%s", doc)
	}
	h, err := ParseCAPHeader(doc)
	if err != nil {
		t.Fatal(err)
	}
	up := alert
	up.Identifier, up.MsgType, up.Status = "riskzone-1-2-abcd", CAPUpdate, "Exercise"
	up.Sent = sent.In(ChinaTime()).Add(time.Hour)
	up.Effective, up.Onset = up.Sent, up.Sent
	up.References = []CAPRef{h.Ref()}
	doc, err = up.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	validateCAP(t, doc)
	if !strings.Contains(string(doc), "<references>riskzone@example.org,riskzone-1-1-abcd,2022-11-21T10:00:00-00:00</references>") {
		t.Errorf("update:\n%s", doc)
	}
	cancel := up
	cancel.MsgType, cancel.Identifier = CAPCancel, "riskzone-1-3-abcd"
	cancel.References = append(cancel.References, CAPRef{Sender: up.Sender, Identifier: up.Identifier, Sent: CAPTime(up.Sent)})
	doc, err = cancel.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	validateCAP(t, doc)
	// Rules the schema cannot check.
	bad := []CAPMessage{alert, up, alert, alert}
	bad[0].References = up.References     // an Alert with references
	bad[1].References = nil               // an Update without
	bad[2].Expires = sent.Add(-time.Hour) // expires before sent
	bad[3].Identifier = "has space"       // identifier
	for i, m := range bad {
		if _, err := m.Marshal(); err == nil {
			t.Errorf("bad message %d was written", i)
		}
	}
}

func TestAtomFeed(t *testing.T) {
	f := AtomFeed{ID: "urn:riskzone:notices", Title: "t", Updated: time.Now(), SelfURL: "http://x/notices.atom", Lang: "zh-CN",
		Entries: []AtomEntry{{ID: "urn:riskzone:notice:1", Title: "n", HTMLURL: "http://x/notices/1", CAPURL: "http://x/notices/1.cap",
			Published: time.Now(), Updated: time.Now(), Content: "a < b"}}}
	doc, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`xmlns="http://www.w3.org/2005/Atom"`, `xml:lang="zh-CN"`, `rel="self"`, `type="application/cap+xml"`, "a &lt; b"} {
		if !strings.Contains(string(doc), w) {
			t.Errorf("feed lacks %s:\n%s", w, doc)
		}
	}
}
