package postgis_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// capConsumer is an agency reading our CAP messages in order, knowing
// nothing of riskzone but CAP 1.2: an Alert adds its areas, an Update
// replaces the areas of the messages it references with its own, a Cancel
// removes the areas of the messages it references. Messages whose status
// is not Actual are ignored.
type capConsumer struct {
	t     *testing.T
	held  map[string][]capArea // by "sender,identifier,sent"
	chain []string             // the actual messages read since the last Cancel
}

type capArea struct {
	zone    int64
	version int
	desc    string
	rings   []string // canonical rings, sorted
}

type capMsg struct {
	Identifier string `xml:"identifier"`
	Sender     string `xml:"sender"`
	Sent       string `xml:"sent"`
	Status     string `xml:"status"`
	MsgType    string `xml:"msgType"`
	References string `xml:"references"`
	Infos      []struct {
		Language string `xml:"language"`
		Areas    []struct {
			Desc     string   `xml:"areaDesc"`
			Polygons []string `xml:"polygon"`
			Geocodes []struct {
				Name  string `xml:"valueName"`
				Value string `xml:"value"`
			} `xml:"geocode"`
		} `xml:"area"`
	} `xml:"info"`
}

func (m capMsg) triple() string { return m.Sender + "," + m.Identifier + "," + m.Sent }

// read applies one message and returns it.
func (c *capConsumer) read(doc []byte) capMsg {
	c.t.Helper()
	var m capMsg
	if err := xml.Unmarshal(doc, &m); err != nil {
		c.t.Fatalf("consumer: %v\n%s", err, doc)
	}
	if m.Status != "Actual" {
		return m
	}
	refs := strings.Fields(m.References)
	// references point at the previous messages of the chain, all of them.
	want := c.chain
	if m.MsgType == zoning.CAPAlert {
		want = nil
	}
	if !slices.Equal(refs, want) {
		c.t.Fatalf("%s %s references %q, want the chain %q", m.MsgType, m.Identifier, refs, want)
	}
	var areas []capArea
	if len(m.Infos) != 2 {
		c.t.Fatalf("%s has %d infos", m.Identifier, len(m.Infos))
	}
	for i, in := range m.Infos {
		var got []capArea
		for _, a := range in.Areas {
			ca := capArea{desc: a.Desc}
			for _, g := range a.Geocodes {
				switch g.Name {
				case zoning.CAPGeocodeZone:
					ca.zone, _ = strconv.ParseInt(g.Value, 10, 64)
				case zoning.CAPGeocodeVersion:
					ca.version, _ = strconv.Atoi(g.Value)
				}
			}
			for _, p := range a.Polygons {
				ca.rings = append(ca.rings, canonicalRing(c.t, capRing(c.t, p)))
			}
			slices.Sort(ca.rings)
			if ca.zone == 0 || ca.version == 0 || len(ca.rings) == 0 {
				c.t.Fatalf("area %+v of %s lacks its zone geocodes or polygons", a, m.Identifier)
			}
			got = append(got, ca)
		}
		if i == 0 {
			areas = got
			continue
		}
		// The English info names the same areas with the same polygons.
		if len(got) != len(areas) {
			c.t.Fatalf("%s: %d areas in %s, %d in zh-CN", m.Identifier, len(got), in.Language, len(areas))
		}
		for j := range got {
			if got[j].zone != areas[j].zone || got[j].version != areas[j].version || !slices.Equal(got[j].rings, areas[j].rings) {
				c.t.Fatalf("%s: area %d differs between languages", m.Identifier, j)
			}
		}
	}
	switch m.MsgType {
	case zoning.CAPAlert:
		c.held[m.triple()] = areas
		c.chain = []string{m.triple()}
	case zoning.CAPUpdate:
		for _, r := range refs {
			delete(c.held, r)
		}
		c.held[m.triple()] = areas
		c.chain = append(c.chain, m.triple())
	case zoning.CAPCancel:
		for _, r := range refs {
			delete(c.held, r)
		}
		c.chain = nil
	default:
		c.t.Fatalf("msgType %q", m.MsgType)
	}
	return m
}

// areas is what the consumer holds, by zone; a zone held twice fails.
func (c *capConsumer) areas() map[int64]capArea {
	c.t.Helper()
	out := map[int64]capArea{}
	for ref, as := range c.held {
		for _, a := range as {
			if _, dup := out[a.zone]; dup {
				c.t.Fatalf("zone %d is held twice (again from %s)", a.zone, ref)
			}
			out[a.zone] = a
		}
	}
	return out
}

// capRing reads a CAP polygon ("lat,lon" pairs) as [lon, lat] positions.
func capRing(t *testing.T, p string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, pair := range strings.Fields(p) {
		lat, lon, ok := strings.Cut(pair, ",")
		y, err1 := strconv.ParseFloat(lat, 64)
		x, err2 := strconv.ParseFloat(lon, 64)
		if !ok || err1 != nil || err2 != nil || y < -90 || y > 90 {
			t.Fatalf("CAP pair %q", pair)
		}
		out = append(out, [2]float64{x, y})
	}
	if len(out) < 4 || out[0] != out[len(out)-1] {
		t.Fatalf("CAP polygon %q is not closed with 4 pairs", p)
	}
	return out
}

// canonicalRing rounds a ring to 7 decimals, drops repeated positions and
// the closing one, and starts it at its smallest position, keeping its
// direction: rings equal up to 7 decimals give equal strings.
func canonicalRing(t *testing.T, ring [][2]float64) string {
	t.Helper()
	r7 := func(v float64) float64 { return math.Round(v*1e7) / 1e7 }
	var pts [][2]float64
	for _, p := range ring {
		q := [2]float64{r7(p[0]), r7(p[1])}
		if len(pts) == 0 || pts[len(pts)-1] != q {
			pts = append(pts, q)
		}
	}
	if len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1]
	}
	start := 0
	for i, p := range pts {
		if p[0] < pts[start][0] || p[0] == pts[start][0] && p[1] < pts[start][1] {
			start = i
		}
	}
	var b strings.Builder
	for i := range pts {
		p := pts[(start+i)%len(pts)]
		fmt.Fprintf(&b, "%.7f %.7f,", p[0], p[1])
	}
	return b.String()
}

// publicAreas is the public map of the county as a consumer sees it: the
// public GeoJSON (the "zones" collection, 7 decimals) for the polygons and
// versions, the public zones for the addresses that name the areas.
func publicAreas(t *testing.T, s *postgis.Store, county int64) map[int64]capArea {
	t.Helper()
	ctx := context.Background()
	zs, err := postgis.Notices{S: s}.PublicZones(ctx, county, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]capArea{}
	_, err = postgis.Export{S: s}.Stream(ctx, "zones", postgis.ExportQuery{County: county, CRS: postgis.CRS84}, nil, func(f postgis.Feature) error {
		var g struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		}
		var props struct {
			ZoneID  int64 `json:"zone_id"`
			Version int   `json:"version"`
		}
		if err := json.Unmarshal(f.Geometry, &g); err != nil {
			return err
		}
		if err := json.Unmarshal(f.Properties, &props); err != nil {
			return err
		}
		var polys [][][][2]float64
		switch g.Type {
		case "Polygon":
			var p [][][2]float64
			err = json.Unmarshal(g.Coordinates, &p)
			polys = append(polys, p)
		case "MultiPolygon":
			err = json.Unmarshal(g.Coordinates, &polys)
		default:
			return fmt.Errorf("zone %d geometry %s", props.ZoneID, g.Type)
		}
		if err != nil {
			return err
		}
		a := capArea{zone: props.ZoneID, version: props.Version}
		for _, p := range polys {
			a.rings = append(a.rings, canonicalRing(t, p[0])) // CAP has no holes: exterior rings
		}
		slices.Sort(a.rings)
		out[a.zone] = a
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != len(out) {
		t.Fatalf("%d public zones, %d in the public GeoJSON", len(zs), len(out))
	}
	for _, z := range zs {
		a, ok := out[z.ZoneID]
		if !ok || a.version != z.Version {
			t.Fatalf("public zone %d v%d is not in the public GeoJSON (%+v)", z.ZoneID, z.Version, a)
		}
		a.desc = zoning.CAPAreaDesc(zoning.ZoneText{Name: z.Name, Addresses: z.Addresses}, "zh")
		out[z.ZoneID] = a
	}
	return out
}

func capSchema(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", "schemas", "CAP-v1.2.xsd")
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
	}
}

func xmllintCAP(t *testing.T, doc []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is missing: apt-get install libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", "--schema", capSchema(t), f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, doc)
	}
}

// A CAP consumer's view of a county's story: after every publication, the
// areas an agency holds by applying our messages in order (Alert adds,
// Update replaces the referenced chain's areas, Cancel removes them) are
// the public map: the same zones, versions, area names and polygons.
// Lifting some zones is an Update with the zones still in force; only the
// last lift is a Cancel.
func TestCAPConsumerViewEqualsPublicMap(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	pub := mustUser(t, e.s, "pub", zoning.RolePublisher, "")
	ns := postgis.Notices{S: e.s, Now: e.clk.Now, BaseURL: "https://riskzone.example"}
	consumer := &capConsumer{t: t, held: map[string][]capArea{}}
	step := 0
	publish := func(name string, wantTypes ...string) []capMsg {
		t.Helper()
		step++
		e.clk.Set(fmt.Sprintf("2022-11-%02dT08:00:00Z", 21+step))
		out, err := ns.Publish(ctx, as(pub), zoning.PublishRequest{CountyID: e.county, Reason: name})
		if err != nil {
			t.Fatalf("%s: publish: %v", name, err)
		}
		var msgs []capMsg
		for _, n := range out {
			doc, _, err := ns.CAPXML(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			xmllintCAP(t, []byte(doc))
			msgs = append(msgs, consumer.read([]byte(doc)))
		}
		var types []string
		for _, m := range msgs {
			types = append(types, m.MsgType)
		}
		if !slices.Equal(types, wantTypes) {
			t.Fatalf("%s: CAP messages %v, want %v", name, types, wantTypes)
		}
		held, public := consumer.areas(), publicAreas(t, e.s, e.county)
		if len(held) != len(public) {
			t.Fatalf("%s: the consumer holds %d zones, the public map shows %d", name, len(held), len(public))
		}
		for id, p := range public {
			h, ok := held[id]
			switch {
			case !ok:
				t.Fatalf("%s: public zone %d is not held by the consumer", name, id)
			case h.version != p.version || h.desc != p.desc:
				t.Fatalf("%s: zone %d held as v%d %q, public v%d %q", name, id, h.version, h.desc, p.version, p.desc)
			case !slices.Equal(h.rings, p.rings):
				t.Fatalf("%s: zone %d polygons differ:\nCAP    %v\npublic %v", name, id, h.rings, p.rings)
			}
		}
		return msgs
	}
	lift := func(id int64) {
		t.Helper()
		if _, err := e.z.Lift(ctx, as(e.root), id, zoning.LiftRequest{Reason: "test: lifted by override in the CAP story", Override: true}); err != nil {
			t.Fatalf("lift %d: %v", id, err)
		}
	}

	// Three zones; one of six buildings, to adjust and split later.
	a := e.buildingZone(0, 0)
	if _, err := e.z.ReplaceGeometry(ctx, as(e.bob), a.ID, zoning.GeometryEdit{Version: 1, Geometry: rect(30, 80, 290, 220), Reason: "two rows"}); err != nil {
		t.Fatal(err)
	}
	b := e.buildingZoneAt(4, 1, "2022-11-21")
	c := e.buildingZoneAt(7, 6, "2022-11-21")
	publish("designate three", zoning.CAPAlert)

	lift(c.ID)
	if m := publish("lift one", zoning.CAPUpdate); len(m[0].Infos[0].Areas) != 2 {
		t.Fatalf("the lift of one of three zones carries %d areas, want the 2 in force", len(m[0].Infos[0].Areas))
	}

	cur, _ := e.z.Get(ctx, a.ID)
	if _, err := e.z.EditMembers(ctx, as(e.bob), a.ID, zoning.MembersEdit{Version: cur.CurrentVersion, Reason: "adjust",
		MemberChange: zoning.MemberChange{RemoveBuildings: []int64{e.at(2, 1)}}}); err != nil {
		t.Fatal(err)
	}
	publish("adjust one", zoning.CAPUpdate)

	cur, _ = e.z.Get(ctx, a.ID)
	parts, err := e.z.Split(ctx, as(e.bob), a.ID, zoning.SplitRequest{Version: cur.CurrentVersion, Reason: "one zone, one policy",
		Parts: []json.RawMessage{rect(30, 80, 165, 220), rect(165, 80, 290, 220)}})
	if err != nil {
		t.Fatal(err)
	}
	publish("split one", zoning.CAPUpdate)

	// A lift and a new zone in one publication: two notices, the lift
	// first; both Updates.
	lift(b.ID)
	d := e.buildingZoneAt(5, 5, "2022-11-26")
	publish("lift one, designate one", zoning.CAPUpdate, zoning.CAPUpdate)

	lift(parts[0].ID)
	lift(parts[1].ID)
	publish("lift all but one", zoning.CAPUpdate)

	lift(d.ID)
	if m := publish("lift the last", zoning.CAPCancel); len(m[0].Infos[0].Areas) != 1 {
		t.Fatalf("the Cancel names %d lifted areas, want 1", len(m[0].Infos[0].Areas))
	}

	// A new zone after the return to normal starts a new chain.
	e.buildingZoneAt(3, 3, "2022-11-29")
	publish("designate again", zoning.CAPAlert)
}

// A zone whose ring rounding to 7 decimals would make touch itself (a
// notch 4e-8 degrees from the opposite edge) is published with the rings
// of its geometry made valid on the grid: simple CAP polygons, nothing
// refused.
func TestCAPRingsThatRoundingWouldCross(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	pub := mustUser(t, e.s, "pub", zoning.RolePublisher, "")
	notch := "MULTIPOLYGON(((117.001 36.6,117.002 36.6,117.002 36.601,117.0015 36.60000004,117.001 36.601,117.001 36.6)))"
	var zone int64
	if err := e.s.Pool.QueryRow(ctx, `INSERT INTO zones (county_id, current_version, status) VALUES ($1, 1, 'active') RETURNING id`,
		e.county).Scan(&zone); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e.s, `INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population,
		staff_required, area_m2, rule_set_id, clock_start, valid_from, reason)
		SELECT $1, 1, 'high', 'active', 'designate', '缺口', ST_GeomFromText($2, 4326), '{}', 0, 0, 1, id, '2022-11-20', now(), 'test'
		FROM rule_sets ORDER BY id LIMIT 1`, zone, notch)
	out, err := postgis.Notices{S: e.s}.Publish(ctx, as(pub), zoning.PublishRequest{CountyID: e.county})
	if err != nil || len(out) != 1 {
		t.Fatalf("publish the notched zone: %+v %v", out, err)
	}
	doc, _, err := postgis.Notices{S: e.s}.CAPXML(ctx, out[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	xmllintCAP(t, []byte(doc))
	var m capMsg
	if err := xml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Infos) == 0 || len(m.Infos[0].Areas) != 1 || len(m.Infos[0].Areas[0].Polygons) < 2 {
		t.Fatalf("the notched zone's CAP area %+v: want the two simple polygons the rounding leaves", m.Infos)
	}
	for _, p := range m.Infos[0].Areas[0].Polygons {
		if _, err := zoning.CAPPolygon(capRing(t, p)); err != nil {
			t.Fatalf("CAP polygon %q: %v", p, err)
		}
	}
}
