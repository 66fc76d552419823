-- Collection "cases" (RESTRICTED: experts and admins only): case residences
-- as points (the given point, else a point on the unit, else on the
-- building). Time: the report date, the whole day in the county's
-- calendar (admin_areas.time_zone), never the UTC day. Columns as in
-- ogc_src_zones.sql.
SELECT c.id AS k1, 0::bigint AS k2, c.id::text AS fid,
       coalesce(c.residence_point, ST_PointOnSurface(u.geom), ST_PointOnSurface(b.geom))::geometry(Point, 4326) AS geom,
       d.t0, d.t1,
       json_build_object(
           'case_no', c.case_no, 'county_id', c.county_id, 'kind', c.kind, 'report_date', c.report_date,
           'onset_date', c.onset_date, 'residence_unit_id', c.residence_unit_id,
           'residence_building_id', coalesce(c.residence_building_id, u.building_id),
           'source_known', c.source_known, 'excluded', c.exclusion_category IS NOT NULL,
           'exclusion_category', c.exclusion_category
       ) AS props
FROM :params, cases c
JOIN admin_areas a ON a.id = c.county_id
CROSS JOIN LATERAL (SELECT c.report_date::timestamp AT TIME ZONE a.time_zone AS t0,
                           (c.report_date + 1)::timestamp AT TIME ZONE a.time_zone - interval '1 microsecond' AS t1) d
LEFT JOIN units u ON u.id = c.residence_unit_id
LEFT JOIN buildings b ON b.id = coalesce(c.residence_building_id, u.building_id)
WHERE (NOT p.timed OR (d.t0 <= coalesce(p.t_to, 'infinity') AND d.t1 >= coalesce(p.t_from, '-infinity')))
  AND (p.county = 0 OR c.county_id = p.county)
