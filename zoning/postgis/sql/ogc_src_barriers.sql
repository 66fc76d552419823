-- Collection "barriers" (public): roads, rivers, railways, ridges and water
-- that zone boundaries follow. Columns as in ogc_src_zones.sql.
SELECT x.id AS k1, 0::bigint AS k2, x.id::text AS fid, x.geom, NULL::timestamptz AS t0, NULL::timestamptz AS t1,
       json_build_object('kind', x.kind, 'road_class', x.road_class, 'name', x.name) AS props
FROM :params, barriers x
WHERE p.county = 0 OR x.geom && (SELECT a.geom FROM admin_areas a WHERE a.id = p.county)
