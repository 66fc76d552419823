-- Assigns the members of a zone to the parts of a split (zoning.MembershipShare
-- again): $1 the parts as an array of EWKB (clipped by zone_split_parts), $2
-- member buildings, $3 member units, $4 the share. A member — a building,
-- or a unit of a building not wholly in the zone — goes to the part covering
-- most of its footprint, when that is at least $4 of it (ties go to the
-- first part); part 0 means no part takes it.
WITH parts AS (
    SELECT p.ord::int AS part, ST_GeomFromEWKB(p.g) AS geom
    FROM unnest($1::bytea[]) WITH ORDINALITY AS p (g, ord)
),
atoms AS (
    SELECT 'building'::text AS kind, b.id, b.geom
    FROM buildings b
    WHERE b.id = ANY ($2::bigint[])
    UNION ALL
    SELECT 'unit', u.id, coalesce(u.geom, b.geom)
    FROM units u
    JOIN buildings b ON b.id = u.building_id
    WHERE u.id = ANY ($3::bigint[])
      AND NOT (u.building_id = ANY ($2::bigint[]))
),
shares AS (
    SELECT a.kind, a.id, p.part, ST_Area(ST_Intersection(a.geom, p.geom)) / nullif(ST_Area(a.geom), 0) AS share
    FROM atoms a
    JOIN parts p ON ST_Intersects(a.geom, p.geom)
),
best AS (
    SELECT DISTINCT ON (s.kind, s.id) s.kind, s.id, s.part, s.share
    FROM shares s
    ORDER BY s.kind, s.id, s.share DESC, s.part
)
SELECT a.kind,
       a.id,
       CASE WHEN b.share >= $4 THEN b.part ELSE 0 END,
       coalesce(b.share, 0)
FROM atoms a
LEFT JOIN best b ON b.kind = a.kind AND b.id = a.id
ORDER BY a.kind, a.id;
