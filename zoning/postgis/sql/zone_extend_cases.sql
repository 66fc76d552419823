-- Counted cases among $1 whose residence is in an active zone ($2: only these
-- zones; NULL: any): the case's unit is a member, or its building is, or —
-- when the unit is unknown — a unit of its building is. One row per zone and
-- case, the latest report first.
SELECT z.id, c.id, c.report_date
FROM cases c
JOIN zones z ON z.county_id = c.county_id AND z.status = 'active'
JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
WHERE c.id = ANY ($1::bigint[])
  AND c.exclusion_category IS NULL
  AND ($2::bigint[] IS NULL OR z.id = ANY ($2::bigint[]))
  AND v.valid_to IS NULL
  AND v.status = 'active'
  AND (v.unit_ids && ARRAY[c.residence_unit_id]
       OR v.building_ids && ARRAY[c.residence_building_id]
       OR (c.residence_unit_id IS NULL
           AND v.unit_ids && ARRAY(SELECT u.id FROM units u WHERE u.building_id = c.residence_building_id)))
ORDER BY z.id, c.report_date DESC, c.id;
