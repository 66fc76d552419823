package main

import (
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// `riskzone propose --at 2022-11-21` runs at the end of that day in China,
// not at the end of the UTC day (08:00 the next morning in Beijing).
func TestProposeAtDateIsAChinaDay(t *testing.T) {
	got, err := parseTime("2022-11-21")
	want := time.Date(2022, 11, 21, 23, 59, 59, 0, zoning.ChinaTime())
	if err != nil || !got.Equal(want) {
		t.Fatalf("--at 2022-11-21: %s %v, want %s", got, err, want)
	}
	if d := zoning.DateOf(got, zoning.ChinaTime()); d != zoning.MakeDate(2022, 11, 21) {
		t.Fatalf("the run's day is %s", d)
	}
}
