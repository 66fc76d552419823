-- Insert one proposal ($16: the proposal it supersedes, or NULL).
INSERT INTO proposals (run_id, county_id, level, name, geom, building_ids, unit_ids,
        population, staff_required, area_m2, boundary_barriers, rationale, created_by,
        population_estimated, workers, supersedes)
VALUES ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING id
