-- The latest counted case of county $1 whose residence is among the members
-- $2 (buildings) and $3 (units) — the same residence rule as
-- zone_extend_cases: the case's unit is a member, or its building is, or,
-- when the unit is unknown, a unit of its building is. No row: none.
SELECT c.id, c.report_date
FROM cases c
WHERE c.county_id = $1
  AND c.exclusion_category IS NULL
  AND (c.residence_unit_id = ANY ($3::bigint[])
       OR c.residence_building_id = ANY ($2::bigint[])
       OR (c.residence_unit_id IS NULL
           AND EXISTS (SELECT 1 FROM units u WHERE u.building_id = c.residence_building_id AND u.id = ANY ($3::bigint[]))))
ORDER BY c.report_date DESC, c.id DESC
LIMIT 1;
