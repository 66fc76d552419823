package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// BlockSet makes sure the county's barrier blocks for the params' (coarse)
// boundary classes are built and current, and returns the set id. Blocks are
// rebuilt when the barriers or admin layers changed since they were built.
func (p Proposals) BlockSet(ctx context.Context, countyID int64, params zoning.ProposeParams) (int64, error) {
	return p.blockSetFor(ctx, countyID, params.BoundaryKinds, params.BoundaryRoadClasses)
}

// FineBlockSet is BlockSet for the fine boundary classes (local roads,
// footways, walls, fences, streams and water besides the coarse classes).
func (p Proposals) FineBlockSet(ctx context.Context, countyID int64, params zoning.ProposeParams) (int64, error) {
	return p.blockSetFor(ctx, countyID, params.FineBoundaryKinds, params.FineBoundaryRoadClasses)
}

func (p Proposals) blockSetFor(ctx context.Context, countyID int64, kindList, classList []string) (int64, error) {
	kinds := slices.Compact(slices.Sorted(slices.Values(kindList)))
	classes := slices.Compact(slices.Sorted(slices.Values(classList)))
	if kinds == nil {
		kinds = []string{}
	}
	if classes == nil {
		classes = []string{}
	}
	tx, err := p.S.Pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	// One builder per county at a time; readers of a current set pass quickly.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('riskzone-blocks'), $1::int)", int32(countyID)); err != nil {
		return 0, fmt.Errorf("lock block cache: %w", err)
	}
	var barriersV, adminV int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT version FROM layer_versions WHERE layer = 'barriers'),
		(SELECT version FROM layer_versions WHERE layer = 'admin')`).Scan(&barriersV, &adminV); err != nil {
		return 0, fmt.Errorf("read layer versions: %w", err)
	}
	var id, bv, av int64
	err = tx.QueryRow(ctx, `SELECT id, barriers_version, admin_version FROM barrier_block_sets
		WHERE county_id = $1 AND kinds = $2 AND road_classes = $3`, countyID, kinds, classes).Scan(&id, &bv, &av)
	switch {
	case err == nil && bv == barriersV && av == adminV:
		return id, tx.Commit(ctx)
	case err == nil:
		if _, err := tx.Exec(ctx, "DELETE FROM barrier_block_sets WHERE id = $1", id); err != nil {
			return 0, fmt.Errorf("drop stale blocks: %w", err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, fmt.Errorf("look up block set: %w", err)
	}
	start := time.Now()
	if err := tx.QueryRow(ctx, `INSERT INTO barrier_block_sets (county_id, kinds, road_classes, barriers_version, admin_version, block_count)
		VALUES ($1, $2, $3, $4, $5, 0) RETURNING id`, countyID, kinds, classes, barriersV, adminV).Scan(&id); err != nil {
		return 0, fmt.Errorf("create block set: %w", err)
	}
	tag, err := tx.Exec(ctx, query("blocks_build"), countyID, kinds, classes, id)
	if err != nil {
		return 0, fmt.Errorf("polygonize barriers of county %d: %w", countyID, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE barrier_block_sets SET block_count = $2, build_ms = $3 WHERE id = $1",
		id, tag.RowsAffected(), time.Since(start).Milliseconds()); err != nil {
		return 0, fmt.Errorf("record block set: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit block set: %w", err)
	}
	return id, nil
}

// ClusterLevels measures the enlargement levels of the spread clusters (see
// sql/propose_levels.sql) in one query.
func (p Proposals) ClusterLevels(ctx context.Context, countyID int64, params zoning.ProposeParams, bounds zoning.EnlargementBounds, clusters []zoning.Cluster) (map[int]zoning.ClusterLevels, error) {
	defer p.step("levels", time.Now())
	out := map[int]zoning.ClusterLevels{}
	var clusterIDs, buildingIDs []int64
	for _, c := range clusters {
		if !c.Spread {
			continue
		}
		for _, b := range c.BuildingIDs {
			clusterIDs = append(clusterIDs, int64(c.ID))
			buildingIDs = append(buildingIDs, b)
		}
	}
	if len(clusterIDs) == 0 {
		return out, nil
	}
	coarse, err := p.BlockSet(ctx, countyID, params)
	if err != nil {
		return nil, err
	}
	fine, err := p.FineBlockSet(ctx, countyID, params)
	if err != nil {
		return nil, err
	}
	tx, err := p.S.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	// The planner's estimates for the spatial joins are high enough to
	// trigger JIT compilation, which costs more than the query itself.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return nil, fmt.Errorf("enlargement levels: %w", err)
	}
	rows, err := tx.Query(ctx, query("propose_levels"), clusterIDs, buildingIDs, fine, coarse, countyID,
		bounds.FallbackDistanceM, params.FineBoundaryKinds, params.FineBoundaryRoadClasses)
	if err != nil {
		return nil, fmt.Errorf("enlargement levels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cluster int64
		var c zoning.LevelCandidate
		if err := rows.Scan(&cluster, &c.Level, &c.AreaIDs, &c.Outside, &c.Residents, &c.AreaM2, &c.EdgeShare, &c.BuildingIDs); err != nil {
			return nil, fmt.Errorf("scan enlargement level: %w", err)
		}
		cl := out[int(cluster)]
		if cl.Levels == nil {
			cl.Levels = map[string]zoning.LevelCandidate{}
		}
		if c.Level == zoning.LevelBuilding {
			cl.SeedBuildings, cl.SeedResidents = len(c.BuildingIDs), c.Residents
		}
		cl.Levels[c.Level] = c
		out[int(cluster)] = cl
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read enlargement levels: %w", err)
	}
	return out, nil
}
