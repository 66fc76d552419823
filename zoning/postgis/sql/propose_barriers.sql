-- Barriers along each assembled zone's boundary ($1 tolerance in metres),
-- with the length of boundary each one follows; and for each zone the share
-- of its boundary that runs within the tolerance of a barrier of kinds $2
-- (roads only of classes $3; the fine classes, which hold the coarse ones)
-- or of the outline of a compound. The county edge ($4's outline) is not a
-- barrier: a boundary on it is where the barriers did not close.
-- Candidates are found with a degree tolerance that is never smaller than $1
-- metres at the county's latitudes (index scan); lengths are then measured
-- on the spheroid.
WITH prm AS (
    SELECT $1::float8 / (111320 * cos(radians(least(89, greatest(abs(ST_YMin(a.geom)), abs(ST_YMax(a.geom))))))) AS tol_deg
    FROM admin_areas a WHERE a.id = $4
),
bnd AS (
    SELECT f.grp, ST_Boundary(f.geom) AS line FROM zfinal f
),
near AS (
    SELECT bnd.grp, b.id, b.kind, coalesce(b.road_class, '') AS road_class, b.name,
           (b.kind = ANY ($2::text[]) AND (b.kind <> 'road' OR b.road_class = ANY ($3::text[]))) AS boundary_class,
           ST_Buffer(b.geom::geography, $1)::geometry AS bbuf,
           bnd.line
    FROM bnd CROSS JOIN prm
    JOIN barriers b ON ST_DWithin(b.geom, bnd.line, prm.tol_deg)
),
shared AS (
    SELECT grp, id, kind, road_class, name, boundary_class, bbuf,
           ST_Length(ST_Intersection(line, bbuf)::geography) AS len
    FROM near
),
outline AS (
    SELECT bnd.grp, ST_Buffer(ST_Intersection(ST_Boundary(c.geom), ST_Expand(bnd.line, prm.tol_deg * 2))::geography, $1)::geometry AS cbuf
    FROM bnd CROSS JOIN prm
    JOIN compounds c ON ST_DWithin(c.geom, bnd.line, prm.tol_deg)
    WHERE ST_DWithin(ST_Boundary(c.geom), bnd.line, prm.tol_deg)
),
cover AS (
    SELECT grp, ST_Union(g) AS g FROM (
        SELECT grp, bbuf AS g FROM shared WHERE boundary_class
        UNION ALL
        SELECT grp, cbuf FROM outline WHERE NOT ST_IsEmpty(cbuf)
    ) x GROUP BY grp
)
SELECT 'barrier' AS what, grp, id, kind, road_class, name, len
FROM shared WHERE len >= 10
UNION ALL
SELECT 'share', bnd.grp, 0, '', '', '',
       coalesce(ST_Length(ST_Intersection(bnd.line, cover.g)::geography) / nullif(ST_Length(bnd.line::geography), 0), 0)
FROM bnd JOIN cover ON cover.grp = bnd.grp
ORDER BY 2, 1, 7 DESC, 3
