package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
)

// Two `riskzone serve` processes on one database: a zone lifted and
// published through A reaches B's tile cache within 1 s (PostgreSQL
// LISTEN/NOTIFY). B's TileJSON hands out a new versioned URL, the new tile
// differs, and the ETag of B's unversioned tile from before no longer
// matches (a revalidation gets the new tile, not 304).
func TestReplicaProcessesServeAZoneChange(t *testing.T) {
	ctx := context.Background()
	dsn, store, sum, _ := demoDatabase(t)
	token := func(name string, role zoning.Role) string {
		u, err := store.CreateUser(ctx, zoning.Origin{Actor: zoning.CLI()}, zoning.NewUser{Username: name, Role: role, DisplayName: name})
		if err != nil {
			t.Fatal(err)
		}
		tok, prefix, err := zoning.NewAPIToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateAPIToken(ctx, zoning.Origin{Actor: zoning.CLI()}, u.ID, "test", prefix, zoning.HashSecret(tok), nil); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin, publisher := token("ops", zoning.RoleAdmin), token("pub", zoning.RolePublisher)

	var zone int64
	var lon, lat float64
	if err := store.Pool.QueryRow(ctx, `SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	a := startReplica(t, dsn, "--no-webhooks")
	b := startReplica(t, dsn, "--no-webhooks")
	tl := tiles.TileOf(lon, lat, 16)
	tilePath := fmt.Sprintf("/tiles/zones/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)

	get := func(r *replica, path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+r.addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	version := func(r *replica) string {
		t.Helper()
		res, body := get(r, "/tiles/zones.json", nil)
		var tj struct {
			Tiles []string `json:"tiles"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &tj) != nil || len(tj.Tiles) == 0 {
			t.Fatalf("TileJSON of %s: %d %s", r.addr, res.StatusCode, body)
		}
		u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(tj.Tiles[0]))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("v")
	}
	post := func(path, bearer string, body string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+a.addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s through A: %d %s", path, res.StatusCode, b)
		}
	}

	// B before: its cache holds the tile with the zone.
	v1 := version(b)
	before, beforeBody := get(b, tilePath, nil)
	etag := before.Header.Get("ETag")
	if before.StatusCode != http.StatusOK || etag == "" || len(beforeBody) == 0 {
		t.Fatalf("B's tile before: %d, ETag %q, %d bytes", before.StatusCode, etag, len(beforeBody))
	}
	if res, _ := get(b, tilePath, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Fatalf("B's revalidation before the change: %d, want 304", res.StatusCode)
	}

	post(fmt.Sprintf("/api/v1/zones/%d/lift", zone), admin, `{"reason": "test: lifted by override", "override": true}`)
	post("/api/v1/notices", publisher, fmt.Sprintf(`{"county_id": %d}`, sum.CountyID))
	published := time.Now()

	for {
		res, body := get(b, tilePath, nil)
		v2 := version(b)
		if v2 != v1 && res.Header.Get("ETag") != etag && !bytes.Equal(body, beforeBody) {
			re, _ := get(b, tilePath, map[string]string{"If-None-Match": etag})
			if re.StatusCode == http.StatusNotModified {
				t.Fatalf("the ETag from before the change still matches on B")
			}
			vres, _ := get(b, tilePath+"?v="+v2, nil)
			if vres.StatusCode/100 != 2 || vres.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Fatalf("B's new versioned tile: %d, Cache-Control %q", vres.StatusCode, vres.Header.Get("Cache-Control"))
			}
			t.Logf("B (another process) serves the change %v after the publication through A", time.Since(published).Round(time.Millisecond))
			return
		}
		if time.Since(published) > time.Second {
			t.Fatalf("1 s after the publication through A, B hands out v=%s (before %s), ETag %q (before %q)", v2, v1, res.Header.Get("ETag"), etag)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
