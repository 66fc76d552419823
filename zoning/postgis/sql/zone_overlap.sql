-- Active zones (other than $3) whose current version already holds one of
-- the buildings $1 or units $2: a building or unit is in one active zone at
-- most. Uses the partial GIN indexes of migration 004.
SELECT v.zone_id,
       v.version,
       ARRAY(SELECT x FROM unnest(v.building_ids) x WHERE x = ANY ($1::bigint[]) ORDER BY x),
       ARRAY(SELECT x FROM unnest(v.unit_ids) x WHERE x = ANY ($2::bigint[]) ORDER BY x)
FROM zone_versions v
WHERE v.valid_to IS NULL
  AND v.status = 'active'
  AND (v.building_ids && $1::bigint[] OR v.unit_ids && $2::bigint[])
  AND NOT (v.zone_id = ANY ($3::bigint[]))
ORDER BY v.zone_id
LIMIT 5;
