-- Cut county $1 into blocks by the barriers of kinds $2 (roads only of
-- classes $3): polygonize the noded barrier lines together with the county
-- outline, keep the faces inside the county. $4 is the block set to fill.
-- Each block records the share of its boundary that is the county outline
-- (edge_share): a block bounded mostly by the outline is where the barriers
-- did not close, and the engine never enlarges to it.
WITH county AS (
    SELECT geom, ST_Boundary(geom) AS edge, ST_Buffer(ST_Boundary(geom), 1e-7) AS edge_buf FROM admin_areas WHERE id = $1
),
lines AS (
    SELECT ST_CollectionExtract(ST_Intersection(
               CASE WHEN GeometryType(b.geom) IN ('POLYGON', 'MULTIPOLYGON') THEN ST_Boundary(b.geom) ELSE b.geom END,
               c.geom), 2) AS g
    FROM barriers b, county c
    WHERE ST_Intersects(b.geom, c.geom)
      AND b.kind = ANY ($2::text[])
      AND (b.kind <> 'road' OR b.road_class = ANY ($3::text[]))
    UNION ALL
    SELECT ST_Boundary(geom) FROM county
),
noded AS (
    SELECT ST_UnaryUnion(ST_Collect(ST_Force2D(g))) AS g FROM lines WHERE NOT ST_IsEmpty(g)
),
faces AS (
    SELECT (ST_Dump(ST_Polygonize(g))).geom AS geom FROM noded
)
INSERT INTO barrier_blocks (set_id, geom, edge_share)
SELECT $4, f.geom,
       CASE WHEN ST_Intersects(f.geom, c.edge)
            THEN least(1, coalesce(ST_Length(ST_Intersection(ST_Boundary(f.geom), c.edge_buf)) / nullif(ST_Length(ST_Boundary(f.geom)), 0), 0))
            ELSE 0 END
FROM faces f, county c
WHERE ST_Area(f.geom) > 0
  AND ST_Intersects(c.geom, ST_PointOnSurface(f.geom))
ORDER BY ST_XMin(f.geom), ST_YMin(f.geom)
