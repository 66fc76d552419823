package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Compound entrances from the real extract: gate and entrance nodes near a
// compound's outline are its entrances; building doors are not; a re-import
// keeps the command centre's state and staff of each.
func TestEntrancesOnRealExtract(t *testing.T) {
	im, s := newImporter(t)
	path := liechtensteinPBF(t)
	importOK(t, im, path, Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var total, matched, gates, doors int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*), count(compound_id), count(*) FILTER (WHERE kind = 'gate'),
		(SELECT count(*) FROM compound_entrances e WHERE e.kind = 'entrance' AND EXISTS (SELECT 1 FROM buildings b WHERE ST_DWithin(b.geom::geography, e.geom::geography, 1)))
		FROM compound_entrances`).Scan(&total, &matched, &gates, &doors); err != nil {
		t.Fatal(err)
	}
	t.Logf("entrances: %d imported, %d on a compound outline, %d gates, %d building doors", total, matched, gates, doors)
	// The 2013 extract has 13 gate nodes and one named residential area,
	// kilometres from any of them.
	if total < 10 || gates < 10 {
		t.Fatalf("gates of the extract not imported: %d entrances, %d gates", total, gates)
	}
	if doors != 0 {
		t.Fatalf("%d building doors taken as compound entrances", doors)
	}
	var far int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM compound_entrances e JOIN compounds c ON c.id = e.compound_id
		WHERE NOT ST_DWithin(ST_Boundary(c.geom)::geography, e.geom::geography, 20.5)`).Scan(&far); err != nil || far != 0 {
		t.Fatalf("%d entrances more than 20 m from their compound's outline (%v)", far, err)
	}
	// The command centre closes one and staffs another; a re-import keeps both.
	if _, err := s.Pool.Exec(ctx, `UPDATE compound_entrances SET state = 'closed' WHERE id = (SELECT min(id) FROM compound_entrances)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE compound_entrances SET staff = 2 WHERE id = (SELECT max(id) FROM compound_entrances)`); err != nil {
		t.Fatal(err)
	}
	sum := importOK(t, im, path, Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	var closed, staffed, again int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'closed'), count(*) FILTER (WHERE staff = 2), count(*) FROM compound_entrances`).
		Scan(&closed, &staffed, &again); err != nil {
		t.Fatal(err)
	}
	if closed != 1 || staffed != 1 || again != total {
		t.Fatalf("after a re-import: %d closed, %d staffed, %d entrances (was %d)", closed, staffed, again, total)
	}
	for _, l := range sum.Layers {
		if l.Layer == "entrances" && (l.Added != 0 || l.Changed != 0 || l.Removed != 0) {
			t.Fatalf("an unchanged re-import changed entrances: %+v", l)
		}
	}
}

// A synthetic OSM file: a gate node on a named compound's outline is its
// entrance; a door (entrance=main on a building's outline) is not; an
// entrance node far from any compound is kept but belongs to none; a drawn
// compound does not lose its hand-drawn entrance to a re-import.
func TestEntrancesFromOSMXML(t *testing.T) {
	im, s := newImporter(t)
	ctx := ctxT(t)
	lon0, lat0 := 117.0, 36.65
	d := 0.001 // ~ 90 m east-west, 111 m north-south
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<osm version="0.6">` + "\n")
	node := func(id int, lon, lat float64, tags string) {
		fmt.Fprintf(&b, `<node id="%d" version="1" lat="%.7f" lon="%.7f">%s</node>`+"\n", id, lat, lon, tags)
	}
	node(1, lon0, lat0, "")
	node(2, lon0+d, lat0, "")
	node(3, lon0+d, lat0+d, "")
	node(4, lon0, lat0+d, "")
	node(5, lon0+d/2, lat0, `<tag k="barrier" v="gate"/><tag k="name" v="南门"/>`) // on the south edge
	node(11, lon0+0.0003, lat0+0.0003, "")
	node(12, lon0+0.0006, lat0+0.0003, "")
	node(13, lon0+0.0006, lat0+0.0006, "")
	node(14, lon0+0.0003, lat0+0.0006, "")
	node(15, lon0+0.00045, lat0+0.0003, `<tag k="entrance" v="main"/>`) // the building's door
	node(20, lon0+0.01, lat0+0.01, `<tag k="entrance" v="yes"/>`)       // far away
	b.WriteString(`<way id="100" version="1"><nd ref="1"/><nd ref="5"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>` +
		`<tag k="landuse" v="residential"/><tag k="name" v="幸福小区"/></way>` + "\n")
	b.WriteString(`<way id="200" version="1"><nd ref="11"/><nd ref="15"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/>` +
		`<tag k="building" v="residential"/></way>` + "\n")
	b.WriteString("</osm>\n")
	path := filepath.Join(t.TempDir(), "compound.osm")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	importOK(t, im, path, Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	rows, err := s.Pool.Query(ctx, `SELECT e.source_id, e.kind, coalesce(c.name, '') FROM compound_entrances e
		LEFT JOIN compounds c ON c.id = e.compound_id ORDER BY e.source_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, kind, compound string
		if err := rows.Scan(&id, &kind, &compound); err != nil {
			t.Fatal(err)
		}
		got = append(got, id+":"+kind+":"+compound)
	}
	rows.Close()
	if strings.Join(got, ",") != "n20:entrance:,n5:gate:幸福小区" {
		t.Fatalf("entrances %v, want the gate on the compound and the far entrance on none (no door)", got)
	}
	// A hand-drawn entrance survives a re-import.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO compound_entrances (compound_id, kind, geom)
		SELECT id, 'entrance', ST_SetSRID(ST_MakePoint($1, $2), 4326) FROM compounds WHERE name = '幸福小区'`, lon0, lat0+d/2); err != nil {
		t.Fatal(err)
	}
	importOK(t, im, path, Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM compound_entrances`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d entrances after a re-import, want 3 (%v)", n, err)
	}
}

// A compound drawn by hand on the real extract, its outline through a gate
// of the map, adopts that gate and no other; its residents are the real
// buildings inside it.
func TestLockdownOnRealExtract(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, liechtensteinPBF(t), Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var compound int64
	// A 300 m square with the gate that stands on a wall at its south-west
	// corner, holding the real buildings inside it.
	if err := s.Pool.QueryRow(ctx, `
		WITH g AS (SELECT e.geom FROM compound_entrances e WHERE EXISTS (
			SELECT 1 FROM barriers b WHERE b.kind IN ('wall', 'fence') AND ST_DWithin(b.geom::geography, e.geom::geography, 1)) ORDER BY e.id LIMIT 1)
		INSERT INTO compounds (name, geom, source)
		SELECT 'drawn compound', ST_Multi(ST_MakeEnvelope(ST_X(g.geom), ST_Y(g.geom), ST_X(g.geom) + 0.004, ST_Y(g.geom) + 0.0027, 4326)), 'manual'
		FROM g RETURNING id`).Scan(&compound); err != nil {
		t.Fatalf("draw a compound at a gate on a wall: %v", err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE buildings b SET compound_id = $1 FROM compounds c WHERE c.id = $1 AND ST_Within(b.geom, c.geom)`, compound); err != nil {
		t.Fatal(err)
	}
	l, err := postgis.Lockdowns{S: s}.AdoptEntrances(ctx, zoning.Origin{Actor: zoning.CLI()}, compound)
	if err != nil {
		t.Fatal(err)
	}
	var near int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM compound_entrances e, compounds c WHERE c.id = $1
		AND ST_DWithin(ST_Boundary(c.geom)::geography, e.geom::geography, 20)`, compound).Scan(&near); err != nil {
		t.Fatal(err)
	}
	t.Logf("drawn compound: %d buildings, %d residents, %d entrances adopted (%d within 20 m)", l.Buildings, l.Residents, len(l.Entrances), near)
	if len(l.Entrances) == 0 || len(l.Entrances) != near || l.Entrances[0].Kind != "gate" || l.Open != len(l.Entrances) || len(l.Unmanned) != len(l.Entrances) {
		t.Fatalf("lockdown %+v", l)
	}
}
