-- Geometry of every staged row: decoded, judged with ST_IsValid, repaired with
-- ST_MakeValid when invalid, and reduced to what the layer stores (polygons,
-- lines or a point). A row whose repair leaves nothing of the right dimension
-- is kept with a NULL geometry and status 'skipped' and a reason, so that its
-- source id still counts as present in the file. (Each LATERAL ends in
-- OFFSET 0 so that the planner does not inline it: inlined, every reference
-- to a column would evaluate its geometry function again.)
CREATE TEMP TABLE import_rows ON COMMIT DROP AS
SELECT s.*, o.geom,
       CASE WHEN s.wkb IS NULL AND s.layer = 'units' THEN 'ok'
            WHEN s.wkb IS NULL THEN 'skipped'
            WHEN o.geom IS NULL THEN 'skipped'
            WHEN NOT v.ok THEN 'repaired'
            ELSE 'ok' END AS status,
       CASE WHEN s.wkb IS NULL AND s.layer <> 'units' THEN 'no geometry'
            WHEN o.geom IS NOT NULL OR s.wkb IS NULL THEN NULL
            WHEN v.ok THEN 'geometry is not a ' || d.want
            ELSE 'invalid geometry (' || ST_IsValidReason(r.raw) || '); ST_MakeValid leaves no ' || d.want END AS reason
FROM import_stage s
CROSS JOIN LATERAL (SELECT ST_GeomFromWKB(s.wkb, 4326) AS raw OFFSET 0) r
CROSS JOIN LATERAL (SELECT coalesce(ST_IsValid(r.raw), true) AS ok OFFSET 0) v
CROSS JOIN LATERAL (SELECT CASE WHEN v.ok THEN r.raw ELSE ST_MakeValid(r.raw) END AS fixed OFFSET 0) f
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.layer = 'places' THEN 'point or polygon'
                WHEN s.layer = 'entrances' THEN 'point'
                WHEN s.layer = 'barriers' AND s.kind <> 'water' THEN 'line'
                ELSE 'polygon' END AS want) d
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN f.fixed IS NULL THEN NULL
        WHEN s.layer = 'places' AND GeometryType(f.fixed) = 'POINT' THEN f.fixed
        WHEN s.layer = 'places' THEN ST_PointOnSurface(ST_CollectionExtract(f.fixed, 3))
        WHEN s.layer = 'entrances' AND GeometryType(f.fixed) = 'POINT' THEN f.fixed
        WHEN s.layer = 'entrances' THEN NULL
        WHEN s.layer = 'barriers' AND s.kind <> 'water' THEN ST_CollectionExtract(f.fixed, 2)
        ELSE ST_Multi(ST_CollectionExtract(f.fixed, 3))
    END AS g OFFSET 0) e
CROSS JOIN LATERAL (SELECT CASE WHEN e.g IS NULL OR ST_IsEmpty(e.g) THEN NULL ELSE e.g END AS geom OFFSET 0) o
WHERE s.layer <> 'scope'
