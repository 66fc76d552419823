-- One buildings tile ($1 z, $2 x, $3 y), the way pg_tileserv renders a table
-- layer: transform to EPSG:3857, clip with ST_AsMVTGeom (buffer 256),
-- aggregate with ST_AsMVT.
SELECT ST_AsMVT(mvtgeom, 'buildings', 4096, 'geom', 'id')
FROM (
    SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.geom_clip, 4096, 256, true) AS geom, t.id, t.kind
    FROM buildings t,
         (SELECT ST_TileEnvelope($1, $2, $3) AS geom_clip,
                 ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 256.0 / 4096), 4326) AS geom_query) bounds
    WHERE ST_Intersects(t.geom, bounds.geom_query)
) mvtgeom
