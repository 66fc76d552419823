-- Cases of county $1 reported on or before $2 (a date), with the residence
-- resolved to a building and a location inside it.
SELECT c.id,
       c.report_date,
       coalesce(c.residence_unit_id, 0),
       coalesce(b.id, 0),
       ST_X(coalesce(ST_PointOnSurface(b.geom), c.residence_point)),
       ST_Y(coalesce(ST_PointOnSurface(b.geom), c.residence_point)),
       c.source_known,
       coalesce(c.exclusion_category, '')
FROM cases c
LEFT JOIN units u ON u.id = c.residence_unit_id
LEFT JOIN buildings b ON b.id = coalesce(c.residence_building_id, u.building_id)
WHERE c.county_id = $1
  AND c.report_date <= $2
ORDER BY c.id
