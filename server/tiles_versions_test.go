package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/postgis"
)

func testVersionsAndReplicas(t *testing.T, e *tileEnv) {
	var zoneID int64
	var lon, lat float64
	e.queryRow(`SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM public_zone_versions ORDER BY zone_id DESC LIMIT 1`, nil, &zoneID, &lon, &lat)
	tile := tiles.TileOf(lon, lat, 16)
	path := tilePath("zones", tile)

	tj := e.tileJSON("zones", nil)
	v1 := versionOf(t, tj)
	first := e.get(path, nil, nil).expect(t, http.StatusOK, "unversioned tile")
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "public, max-age=5" {
		t.Fatalf("unversioned tile headers %v", first.Header)
	}
	e.get(path, nil, map[string]string{"If-None-Match": etag}).expect(t, http.StatusNotModified, "revalidation")
	versioned := e.get(path+"?v="+v1, nil, nil).expect(t, http.StatusOK, "versioned tile")
	if versioned.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !bytes.Equal(versioned.body, first.body) {
		t.Fatalf("versioned tile headers %v", versioned.Header)
	}

	// A second replica on the same database, with its own pool and listener.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store2, err := postgis.Open(context.Background(), e.store.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	srv2 := New(Config{}, store2, log)
	ts2 := httptest.NewServer(srv2.Handler())
	defer ts2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv2.Start(ctx)
	get2 := func() (int, []byte) {
		res, err := ts2.Client().Get(ts2.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if status, b := get2(); status != http.StatusOK || !bytes.Equal(b, first.body) {
		t.Fatalf("replica 2 before the change: %d, same tile %v", status, bytes.Equal(b, first.body))
	}

	// Lift the zone as a writer does: new version, layer bump and NOTIFY in
	// one transaction.
	tx, err := e.store.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	for _, sql := range []string{
		`UPDATE zone_versions SET valid_to = now() WHERE zone_id = $1 AND valid_to IS NULL`,
		`INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, valid_from, reason, published_notice_id)
			SELECT zone_id, version + 1, level, 'lifted', 'lift', name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, now() + interval '1 millisecond', 'lifted', published_notice_id
			FROM zone_versions WHERE zone_id = $1 ORDER BY version DESC LIMIT 1`,
		`UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer IN ('zones', 'proposals') AND $1::bigint IS NOT NULL`,
		`SELECT pg_notify('` + postgis.LayersChannel + `', '[proposals zones]') WHERE $1::bigint IS NOT NULL`,
	} {
		if _, err := tx.Exec(context.Background(), sql, zoneID); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	deadline := changed.Add(time.Second)
	for _, replica := range []struct {
		name string
		get  func() (int, []byte)
	}{
		{"replica 2", get2},
		{"replica 1", func() (int, []byte) { r := e.get(path, nil, nil); return r.StatusCode, r.body }},
	} {
		for {
			status, b := replica.get()
			if status == http.StatusNoContent || !bytes.Equal(b, first.body) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves the lifted zone %v after the change", replica.name, time.Since(changed))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("both replicas serve the change %v after commit", time.Since(changed))

	v2 := versionOf(t, e.tileJSON("zones", nil))
	if v2 == v1 {
		t.Fatalf("TileJSON still hands out v=%s", v1)
	}
	res := e.get(path, nil, map[string]string{"If-None-Match": etag})
	if res.StatusCode == http.StatusNotModified || res.Header.Get("ETag") == etag {
		t.Fatalf("the old ETag still matches: %d %v", res.StatusCode, res.Header)
	}
	// The old versioned URL answers current data, briefly cacheable.
	old := e.get(path+"?v="+v1, nil, nil)
	if old.Header.Get("Cache-Control") != "public, max-age=5" {
		t.Fatalf("stale ?v= answered with %q", old.Header.Get("Cache-Control"))
	}
	fresh := e.get(path+"?v="+v2, nil, nil)
	if fresh.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("current ?v= answered with %q", fresh.Header.Get("Cache-Control"))
	}
}
