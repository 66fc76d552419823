-- Case residences (restricted layer): the given point, else a point on the
-- unit, else on the building, meeting a lon/lat box ($1..$4).
SELECT c.id, ST_AsBinary(r.pt) AS geom, c.kind, c.report_date::text AS reported,
       c.exclusion_category IS NOT NULL AS excluded
FROM cases c
LEFT JOIN units u ON u.id = c.residence_unit_id
LEFT JOIN buildings b ON b.id = coalesce(c.residence_building_id, u.building_id)
CROSS JOIN LATERAL (
    SELECT coalesce(c.residence_point, ST_PointOnSurface(u.geom), ST_PointOnSurface(b.geom)) AS pt
) r
WHERE r.pt && ST_MakeEnvelope($1, $2, $3, $4, 4326)
