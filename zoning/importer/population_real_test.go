package importer_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/importer/realdata"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// A zone of imported buildings holds estimated populations (footprint ×
// floors × density: OSM has no head counts), and says so: the zone version
// (API JSON population_estimated) and the publisher's preview figures. Once
// the members' populations are counted (population_derived false), it no
// longer does.
func TestZonePopulationMarkedEstimated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := pgtest.NewStore(t)
	realdata.Import(t, ctx, s)
	pub := realdata.Publish(t, ctx, s, map[string][]string{"Schaan": {"w3461", "w3496", "w3498", "w2137"}})
	z := postgis.Zones{S: s}
	zn, err := z.Get(ctx, pub.Zones["Schaan"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !zn.Current.PopulationEstimated || zn.Current.Population == 0 {
		t.Fatalf("zone of imported buildings: population %d, estimated %v; want an estimate", zn.Current.Population, zn.Current.PopulationEstimated)
	}
	var doc map[string]any
	raw, err := json.Marshal(zn.Current)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc["population_estimated"] != true {
		t.Errorf("zone version JSON population_estimated = %v (%v)", doc["population_estimated"], err)
	}

	// A pending change: the preview shows its figures, marked.
	approver, err := s.UserByUsername(ctx, "li.approver")
	if err != nil {
		t.Fatal(err)
	}
	origin := zoning.Origin{Actor: approver.Principal(zoning.ViaSession)}
	if _, err := z.EditMembers(ctx, origin, zn.ID, zoning.MembersEdit{Version: zn.CurrentVersion, Reason: "w2137 is not part of it",
		MemberChange: zoning.MemberChange{RemoveBuildings: []int64{pub.Buildings["w2137"]}}}); err != nil {
		t.Fatal(err)
	}
	county := zn.CountyID
	previews, err := postgis.Notices{S: s}.PreviewDocuments(ctx, zoning.PublishRequest{CountyID: county})
	if err != nil || len(previews) != 1 {
		t.Fatalf("preview: %v (%d notices)", err, len(previews))
	}
	figs := previews[0].Figures
	if len(figs) == 0 {
		t.Fatalf("preview without figures: %+v", previews[0])
	}
	found := false
	for _, f := range figs {
		if f.ZoneID == zn.ID && f.Version == 2 {
			found = true
			if !f.PopulationEstimated || f.Population == 0 {
				t.Errorf("preview figures of the change: %+v, want an estimated population", f)
			}
		}
	}
	if !found {
		t.Errorf("preview figures %+v lack version 2 of zone %d", figs, zn.ID)
	}

	// A screening round keeps the count entered; the zone population it
	// records beside it is marked as the estimate it is, when read back too.
	cur, err := z.Get(ctx, zn.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := zoning.DateOf(time.Now(), zoning.ChinaTime()).String()
	tested := cur.Current.Population + 3
	sc, err := z.AddScreening(ctx, origin, zn.ID, zoning.NewScreening{RoundDate: today, Tested: tested, Negatives: tested})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Tested != tested || sc.Population != cur.Current.Population || !sc.PopulationEstimated {
		t.Errorf("screening %+v: want tested %d as entered, population %d marked estimated", sc, tested, cur.Current.Population)
	}
	other := cur.Current.Population + 10
	if _, err := z.AddScreening(ctx, origin, zn.ID, zoning.NewScreening{RoundDate: today, Population: &other, Tested: other, Negatives: other}); err != nil {
		t.Fatal(err)
	}
	list, err := z.Screenings(ctx, zn.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("screenings: %v %+v", err, list)
	}
	if !list[0].PopulationEstimated || list[0].Tested != tested || list[1].PopulationEstimated {
		t.Errorf("screenings read back %+v: want the first marked estimated, tested %d, the second (a counted population) not", list, tested)
	}

	// Counted populations are not estimates.
	if _, err := s.Pool.Exec(ctx, `UPDATE buildings SET population_derived = false WHERE id = ANY ($1)`, []int64{pub.Buildings["w3461"], pub.Buildings["w3496"], pub.Buildings["w3498"], pub.Buildings["w2137"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE units SET population_derived = false WHERE building_id = ANY ($1)`,
		[]int64{pub.Buildings["w3461"], pub.Buildings["w3496"], pub.Buildings["w3498"], pub.Buildings["w2137"]}); err != nil {
		t.Fatal(err)
	}
	v, err := z.Version(ctx, zn.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.PopulationEstimated {
		t.Errorf("zone of counted buildings: population_estimated true")
	}
}
