-- Collection "cases" (RESTRICTED: experts and admins only): case residences
-- as points (the given point, else a point on the unit, else on the
-- building). Time: the report date (UTC midnight). Columns as in
-- ogc_src_zones.sql.
SELECT c.id AS k1, 0::bigint AS k2, c.id::text AS fid,
       coalesce(c.residence_point, ST_PointOnSurface(u.geom), ST_PointOnSurface(b.geom))::geometry(Point, 4326) AS geom,
       c.report_date::timestamp AT TIME ZONE 'UTC' AS t0, c.report_date::timestamp AT TIME ZONE 'UTC' AS t1,
       json_build_object(
           'case_no', c.case_no, 'county_id', c.county_id, 'kind', c.kind, 'report_date', c.report_date,
           'onset_date', c.onset_date, 'residence_unit_id', c.residence_unit_id,
           'residence_building_id', coalesce(c.residence_building_id, u.building_id),
           'source_known', c.source_known, 'excluded', c.exclusion_category IS NOT NULL,
           'exclusion_category', c.exclusion_category
       ) AS props
FROM :params, cases c
LEFT JOIN units u ON u.id = c.residence_unit_id
LEFT JOIN buildings b ON b.id = coalesce(c.residence_building_id, u.building_id)
WHERE (NOT p.timed OR (c.report_date::timestamp AT TIME ZONE 'UTC' >= coalesce(p.t_from, '-infinity')
                       AND c.report_date::timestamp AT TIME ZONE 'UTC' <= coalesce(p.t_to, 'infinity')))
  AND (p.county = 0 OR c.county_id = p.county)
