-- Collection "traces" (RESTRICTED: experts and admins only): activity
-- traces as points (the given point, else the place, else a point on the
-- building), with their time window. Columns as in ogc_src_zones.sql.
SELECT t.id AS k1, 0::bigint AS k2, t.id::text AS fid,
       coalesce(t.point, pl.geom, ST_PointOnSurface(b.geom))::geometry(Point, 4326) AS geom,
       t.starts_at AS t0, t.ends_at AS t1,
       json_build_object(
           'case_id', t.case_id, 'activity', t.activity, 'starts_at', t.starts_at, 'ends_at', t.ends_at,
           'enclosed', t.enclosed, 'place_id', t.place_id, 'building_id', t.building_id, 'county_id', c.county_id
       ) AS props
FROM :params, traces t
JOIN cases c ON c.id = t.case_id
LEFT JOIN places pl ON pl.id = t.place_id
LEFT JOIN buildings b ON b.id = t.building_id
WHERE (NOT p.timed OR (t.starts_at <= coalesce(p.t_to, 'infinity') AND t.ends_at >= coalesce(p.t_from, '-infinity')))
  AND (p.county = 0 OR c.county_id = p.county)
