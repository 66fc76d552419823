package zoning_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

func TestRoomsRequired(t *testing.T) {
	// 每万人20间: the seed's district of 1,253 rooms in 15 sites serves
	// about 626,500 residents at the standard.
	for _, c := range []struct{ residents, per10k, want int }{
		{626500, 20, 1253}, {626501, 20, 1254}, {1, 20, 1}, {0, 20, 0}, {10000, 20, 20}, {9999, 20, 20}, {10000, 0, 0},
	} {
		if got := zoning.RoomsRequired(c.residents, c.per10k); got != c.want {
			t.Errorf("RoomsRequired(%d, %d) = %d, want %d", c.residents, c.per10k, got, c.want)
		}
	}
	s := zoning.Summarise(1, 50000, 20, []zoning.Site{{Rooms: 60, Free: 10, Staff: 8, Active: true}, {Rooms: 40, Free: 40, Active: false}})
	if s.RoomsRequired != 100 || s.Rooms != 60 || s.Shortfall != 40 || s.Free != 10 || s.Staff != 8 {
		t.Fatalf("summary %+v", s)
	}
}

// Contacts go to the nearest site with a free room, in order; when the
// nearest is full the next nearest takes them; when none can, they wait.
func TestAssignSites(t *testing.T) {
	sites := []zoning.Site{
		{ID: 1, Lon: 9.52, Lat: 47.14, Rooms: 1, Free: 1, Active: true},   // near
		{ID: 2, Lon: 9.60, Lat: 47.20, Rooms: 5, Free: 1, Active: true},   // farther
		{ID: 3, Lon: 9.521, Lat: 47.14, Rooms: 9, Free: 9, Active: false}, // nearest, closed
	}
	got, waiting := zoning.AssignSites([]zoning.AssignInput{{ContactID: 10, Lon: 9.5205, Lat: 47.14}, {ContactID: 11, Lon: 9.52, Lat: 47.14},
		{ContactID: 12, Lon: 9.52, Lat: 47.14}}, sites)
	if len(got) != 2 || got[0].SiteID != 1 || got[1].SiteID != 2 || got[1].DistanceM < 5000 || len(waiting) != 1 || waiting[0] != 12 {
		t.Fatalf("assigned %+v, waiting %v", got, waiting)
	}
	if sites[0].Free != 0 || sites[1].Free != 0 || sites[1].Assigned != 1 || sites[2].Free != 9 {
		t.Fatalf("sites after %+v", sites)
	}
}

func TestSiteValidateAndEdit(t *testing.T) {
	good := zoning.NewSite{CountyID: 1, Name: "城东酒店", Rooms: 80, Occupied: 10, Staff: 12, Lon: 117, Lat: 36}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*zoning.NewSite){
		"no county": func(s *zoning.NewSite) { s.CountyID = 0 },
		"no name":   func(s *zoning.NewSite) { s.Name = " " },
		"control":   func(s *zoning.NewSite) { s.Name = "a\x01" },
		"negative":  func(s *zoning.NewSite) { s.Rooms = -1 },
		"overfull":  func(s *zoning.NewSite) { s.Occupied = 81 },
		"staff":     func(s *zoning.NewSite) { s.Staff = -3 },
		"far":       func(s *zoning.NewSite) { s.Lat = 91 },
	} {
		s := good
		mod(&s)
		if err := s.Validate(); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	site := zoning.Site{Name: "城东酒店", Rooms: 80, Occupied: 10, Assigned: 30, Active: true}
	ten := 10
	if _, err := (zoning.SiteEdit{Rooms: &ten, Reason: "rooms closed"}).Apply(site); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("shrinking below the assigned contacts: %v", err)
	}
	if _, err := (zoning.SiteEdit{Rooms: &ten}).Apply(site); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("no reason: %v", err)
	}
	if _, err := (zoning.SiteEdit{Reason: "x"}).Apply(site); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("nothing to change: %v", err)
	}
	fifty := 50
	got, err := (zoning.SiteEdit{Rooms: &fifty, Reason: "a floor closed"}).Apply(site)
	if err != nil || got.Free != 10 {
		t.Fatalf("edit: %+v %v", got, err)
	}
}

func TestParseSites(t *testing.T) {
	csv := "name,rooms,occupied,staff,lon,lat\n城东酒店,80,10,12,117.01,36.65\n"
	got, err := zoning.ParseSitesCSV(strings.NewReader(csv), 1, 10)
	if err != nil || len(got) != 1 || got[0].Rooms != 80 || got[0].CountyID != 1 || got[0].Lat != 36.65 {
		t.Fatalf("CSV %+v %v", got, err)
	}
	for _, bad := range []string{"name,rooms\nA,1\n", "name,rooms,lon,lat\nA,x,1,2\n", "name,rooms,lon,lat\nA,1,east,2\n", "name,rooms,lon,lat\n"} {
		if _, err := zoning.ParseSitesCSV(strings.NewReader(bad), 1, 10); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("CSV %q: %v", bad, err)
		}
	}
	gj := `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},
		"properties":{"name":"Hotel Vaduz","rooms":40,"staff":6}}]}`
	sites, err := zoning.ParseSitesGeoJSON([]byte(gj), 7, 10)
	if err != nil || len(sites) != 1 || sites[0].Name != "Hotel Vaduz" || sites[0].Rooms != 40 || sites[0].CountyID != 7 || sites[0].Lon != 9.52 {
		t.Fatalf("GeoJSON %+v %v", sites, err)
	}
	for _, bad := range []string{`{"type":"FeatureCollection","features":[]}`, `[`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"rooms":1.5}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}]}`} {
		if _, err := zoning.ParseSitesGeoJSON([]byte(bad), 1, 10); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("GeoJSON %s: %v", bad, err)
		}
	}
}

func FuzzParseSites(f *testing.F) {
	f.Add([]byte("name,rooms,occupied,staff,lon,lat\n城东酒店,80,10,12,117.01,36.65\n"))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},"properties":{"name":"H","rooms":40}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func() ([]zoning.NewSite, error){
			func() ([]zoning.NewSite, error) { return zoning.ParseSitesCSV(strings.NewReader(string(data)), 1, 20) },
			func() ([]zoning.NewSite, error) { return zoning.ParseSitesGeoJSON(data, 1, 20) },
		} {
			sites, err := parse()
			if err != nil {
				if !errors.Is(err, zoning.ErrInvalid) && !errors.Is(err, zoning.ErrTooLarge) {
					t.Fatalf("%q: %v", data, err)
				}
				continue
			}
			for _, s := range sites {
				if err := s.Validate(); err != nil && !errors.Is(err, zoning.ErrInvalid) {
					t.Fatalf("%+v: %v", s, err)
				}
			}
		}
	})
}
