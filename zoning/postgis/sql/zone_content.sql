-- The content of a zone version from its members: $1 the base geometry (EWKB:
-- a clipped drawing, or the previous geometry), $2 member buildings (whole),
-- $3 member units (those of buildings not in $2 make the zone hold only these
-- units there; units of $2 are ignored: a whole building brings all its
-- units), $4 buildings and $5 units whose footprints must lie outside.
--
-- geometry = (base − outside footprints) ∪ member footprints, so members are
-- wholly inside and excluded buildings wholly outside: no boundary cuts a
-- building. A unit without a footprint of its own stands for its building's.
-- Only the outside footprints that touch the base are subtracted and only the
-- member footprints it does not cover yet are added: an edit of a large zone
-- then costs one prepared-geometry test per member instead of a union of all.
WITH base AS (
    SELECT ST_GeomFromEWKB($1) AS g
),
member_buildings AS (
    SELECT b.id, b.geom, b.population
    FROM buildings b
    WHERE b.id = ANY ($2::bigint[])
),
member_units AS (
    SELECT u.id, coalesce(u.geom, b.geom) AS geom, u.population
    FROM units u
    JOIN buildings b ON b.id = u.building_id
    WHERE u.id = ANY ($3::bigint[])
      AND NOT (u.building_id = ANY ($2::bigint[]))
),
outside AS (
    SELECT ST_Union(x.g) AS g
    FROM (
        SELECT b.geom AS g FROM buildings b WHERE b.id = ANY ($4::bigint[])
        UNION ALL
        SELECT coalesce(u.geom, b.geom)
        FROM units u
        JOIN buildings b ON b.id = u.building_id
        WHERE u.id = ANY ($5::bigint[])
    ) x, base
    WHERE ST_Intersects(x.g, base.g)
),
cut AS (
    SELECT CASE WHEN o.g IS NULL THEN base.g ELSE ST_Difference(base.g, o.g) END AS g
    FROM base, outside o
),
missing AS (
    SELECT ST_Union(x.g) AS g
    FROM (SELECT geom AS g FROM member_buildings UNION ALL SELECT geom FROM member_units) x, cut
    WHERE NOT ST_CoveredBy(x.g, cut.g)
),
joined AS (
    SELECT CASE WHEN m.g IS NULL THEN c.g ELSE ST_UnaryUnion(ST_Collect(c.g, m.g)) END AS g
    FROM cut c, missing m
),
shaped AS MATERIALIZED (
    -- GEOS's overlay output is valid but for rare precision cases: repair those.
    SELECT ST_Multi(ST_CollectionExtract(CASE WHEN ST_IsValid(j.g) THEN j.g ELSE ST_MakeValid(j.g) END, 3)) AS geom
    FROM joined j
)
SELECT ST_AsEWKB(s.geom),
       ST_IsEmpty(s.geom),
       ST_Area(s.geom::geography),
       coalesce((SELECT array_agg(mb.id ORDER BY mb.id) FROM member_buildings mb), '{}'),
       coalesce((SELECT array_agg(x.id ORDER BY x.id) FROM (
                    SELECT u.id FROM units u WHERE u.building_id = ANY ($2::bigint[])
                    UNION
                    SELECT mu.id FROM member_units mu) x), '{}'),
       (coalesce((SELECT sum(mb.population) FROM member_buildings mb), 0)
        + coalesce((SELECT sum(mu.population) FROM member_units mu), 0))::bigint
FROM shaped s;
