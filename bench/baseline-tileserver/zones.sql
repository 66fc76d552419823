-- One zones tile ($1 z, $2 x, $3 y) from the public view, the way
-- pg_tileserv renders a view layer, with the attributes riskzone serves.
SELECT ST_AsMVT(mvtgeom, 'zones', 4096, 'geom', 'id')
FROM (
    SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), bounds.geom_clip, 4096, 256, true) AS geom,
           p.zone_id AS id, p.level, p.name,
           to_char(p.valid_from AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS since,
           to_char(p.clock_start + r.clean_days, 'YYYY-MM-DD') AS lift
    FROM public_zone_versions p
    JOIN rule_sets r ON r.id = p.rule_set_id,
         (SELECT ST_TileEnvelope($1, $2, $3) AS geom_clip,
                 ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 256.0 / 4096), 4326) AS geom_query) bounds
    WHERE p.status = 'active' AND ST_Intersects(p.geom, bounds.geom_query)
) mvtgeom
