package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// Twenty experts edit the same zone at once, each adding a building of its
// own with If-Match and retrying on conflict: every refused attempt is a
// 409 naming the current version, versions go up one by one, every edit
// lands (no lost update), and the final zone holds all twenty buildings.
func TestZoneEditsTwentyWriters(t *testing.T) {
	const writers = 20
	e := newZoneAPI(t)
	ctx := context.Background()
	for i := 0; i < writers; i++ {
		x := 117.0 + float64(i)*0.0005
		if _, err := e.store.Pool.Exec(ctx, `INSERT INTO buildings (id, county_id, population, addr_compound, addr_number, geom)
			VALUES ($1, 1, 10, '并发小区', $2, ST_Multi(ST_MakeEnvelope($3::float8, 36.655, $3::float8 + 0.0003, 36.6553, 4326)))`,
			101+i, fmt.Sprint(i+1), x); err != nil {
			t.Fatal(err)
		}
	}
	ids := e.proposals(12)
	var z zoning.Zone
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0]), map[string]any{"reason": "designate"}, nil).
		expect(t, http.StatusCreated, "approve").decode(t, &z)
	first := fmt.Sprintf(`"z%d-v1"`, z.ID)

	type outcome struct {
		version   int   // the version the successful edit made
		conflicts int   // 409 answers before it
		others    []int // any other status: a failure
		err       error
	}
	out := make([]outcome, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			who := e.alice
			if i%2 == 1 {
				who = e.bob
			}
			etag := first
			for attempt := 0; attempt < 200; attempt++ {
				st, body, err := e.rawCall(who, "PATCH", fmt.Sprintf("/api/v1/zones/%d/members", z.ID),
					map[string]any{"reason": fmt.Sprintf("writer %d", i), "add_buildings": []int64{int64(101 + i)}}, map[string]string{"If-Match": etag})
				if err != nil {
					out[i].err = err
					return
				}
				switch st {
				case http.StatusOK:
					var got zoning.Zone
					out[i].err = json.Unmarshal(body, &got)
					out[i].version = got.CurrentVersion
					return
				case http.StatusConflict:
					var cb conflictBody
					if err := json.Unmarshal(body, &cb); err != nil || cb.ETag == "" || cb.Error.Code != "conflict" {
						out[i].err = fmt.Errorf("conflict body %s", body)
						return
					}
					out[i].conflicts++
					etag = cb.ETag
				default:
					out[i].others = append(out[i].others, st)
					return
				}
			}
			out[i].err = fmt.Errorf("no success in 200 attempts")
		}()
	}
	close(start)
	wg.Wait()

	var versions []int
	conflicts := 0
	for i, o := range out {
		if o.err != nil || len(o.others) > 0 {
			t.Fatalf("writer %d: %v, statuses other than 200/409: %v", i, o.err, o.others)
		}
		versions = append(versions, o.version)
		conflicts += o.conflicts
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+2 {
			t.Fatalf("versions made by the writers %v: want 2..%d, each once", versions, writers+1)
		}
	}
	rows, err := e.store.Pool.Query(ctx, `SELECT version, building_ids FROM zone_versions WHERE zone_id = $1 ORDER BY version`, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	var prev []int64
	n := 0
	for rows.Next() {
		var v int
		var b []int64
		if err := rows.Scan(&v, &b); err != nil {
			t.Fatal(err)
		}
		n++
		if v != n {
			t.Fatalf("version %d follows version %d", v, n-1)
		}
		for _, id := range prev {
			if !slices.Contains(b, id) {
				t.Fatalf("version %d lost building %d of version %d (a lost update)", v, id, v-1)
			}
		}
		prev = b
	}
	rows.Close()
	if n != writers+1 {
		t.Fatalf("%d versions, want %d", n, writers+1)
	}
	for i := 0; i < writers; i++ {
		if !slices.Contains(prev, int64(101+i)) {
			t.Fatalf("the final version lacks building %d of writer %d", 101+i, i)
		}
	}
	if got := e.auditCount("zone.edit_members", "conflict"); got != conflicts {
		t.Errorf("%d conflicts answered, %d audited", conflicts, got)
	}
	t.Logf("%d writers, %d conflicts answered 409 on the way", writers, conflicts)
}
