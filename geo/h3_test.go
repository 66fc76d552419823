package geo

import (
	"errors"
	"math"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestCellR11KnownCell(t *testing.T) {
	// The example of the H3 documentation: this point lies in 8928308280fffff
	// at resolution 9, so its resolution-11 cell must have that parent.
	const lat, lon = 37.775938728915946, -122.41795063018799
	got, err := CellR11(lon, lat)
	if err != nil {
		t.Fatalf("CellR11: %v", err)
	}
	c := h3.Cell(got)
	if c.Resolution() != 11 {
		t.Fatalf("resolution = %d, want 11", c.Resolution())
	}
	if p := c.Parent(9).String(); p != "8928308280fffff" {
		t.Fatalf("parent at resolution 9 = %s, want 8928308280fffff", p)
	}
	// The centre of a resolution-11 cell is within ~30 m of any of its points.
	centre := c.LatLng()
	if d := h3.GreatCircleDistanceM(centre, h3.NewLatLng(lat, lon)); d > 30 {
		t.Fatalf("point is %.1f m from its cell centre, want < 30", d)
	}
}

func TestCellR11NearbyPointsShareCellsFarPointsDoNot(t *testing.T) {
	a, err := CellR11(117.0, 36.65)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CellR11(117.0+1e-7, 36.65) // about 1 cm east
	if err != nil {
		t.Fatal(err)
	}
	c, err := CellR11(117.01, 36.65) // about 900 m east
	if err != nil {
		t.Fatal(err)
	}
	if a <= 0 || c <= 0 {
		t.Fatalf("cells must be positive int64: %d %d", a, c)
	}
	if a != b && !h3.Cell(a).IsNeighbor(h3.Cell(b)) {
		t.Fatalf("points 1 cm apart are in cells %x and %x, neither equal nor neighbours", a, b)
	}
	if a == c {
		t.Fatalf("points 900 m apart share cell %x", a)
	}
}

func TestCellRejectsBadInput(t *testing.T) {
	cases := []struct {
		name     string
		lon, lat float64
		res      int
	}{
		{"NaN lon", math.NaN(), 36, 11},
		{"Inf lat", 117, math.Inf(1), 11},
		{"lat above 90", 117, 91, 11},
		{"lon below -180", -181, 36, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Cell(tc.lon, tc.lat, tc.res); !errors.Is(err, ErrCoordinate) {
				t.Fatalf("err = %v, want ErrCoordinate", err)
			}
		})
	}
	if _, err := Cell(117, 36, 16); err == nil {
		t.Fatal("resolution 16 accepted")
	}
	if _, err := Cell(117, 36, -1); err == nil {
		t.Fatal("resolution -1 accepted")
	}
}
