package geo

import (
	"math"
	"testing"
)

func TestLocalPlaneDistancesAndRoundTrip(t *testing.T) {
	p, err := NewLocalPlane(117.0, 36.65)
	if err != nil {
		t.Fatal(err)
	}
	o := p.LonLat(0, 0)
	if o[0] != 117.0 || o[1] != 36.65 {
		t.Fatalf("origin maps to %v", o)
	}
	// 1 km north is 1000/111319.49 degrees of latitude.
	n := p.LonLat(0, 1000)
	if want := 36.65 + 1000/(EarthRadius*math.Pi/180); math.Abs(n[1]-want) > 1e-7 {
		t.Fatalf("1 km north: lat %.8f, want %.8f", n[1], want)
	}
	// 1 km east spans more degrees than 1 km north at this latitude, by 1/cos(lat).
	e := p.LonLat(1000, 0)
	ratio := (e[0] - 117.0) / (n[1] - 36.65)
	if want := 1 / math.Cos(36.65*math.Pi/180); math.Abs(ratio-want) > 1e-4 {
		t.Fatalf("east/north degree ratio %.6f, want %.6f", ratio, want)
	}
	x, y := p.XY(e[0], e[1])
	if math.Abs(x-1000) > 0.02 || math.Abs(y) > 0.02 {
		t.Fatalf("round trip of (1000, 0) = (%.4f, %.4f)", x, y)
	}
}

func TestLocalPlaneRoundsToSevenDecimalsAndSharesVertices(t *testing.T) {
	p, err := NewLocalPlane(117.0, 36.65)
	if err != nil {
		t.Fatal(err)
	}
	a := p.LonLat(123.456789, -987.654321)
	for _, v := range []float64{a[0], a[1]} {
		if r := math.Round(v*1e7) / 1e7; r != v {
			t.Fatalf("%v is not rounded to 7 decimals", v)
		}
	}
	if b := p.LonLat(123.456789, -987.654321); a != b {
		t.Fatalf("same plane point mapped to %v and %v", a, b)
	}
}

func TestNewLocalPlaneRejectsPoles(t *testing.T) {
	for _, lat := range []float64{89, -86, math.NaN()} {
		if _, err := NewLocalPlane(0, lat); err == nil {
			t.Fatalf("latitude %v accepted", lat)
		}
	}
}
