-- Barriers along each assembled zone's boundary ($1 tolerance in metres),
-- with the length of boundary each one follows; and for each zone the share
-- of its boundary that runs within the tolerance of a boundary-class barrier
-- (kinds $2, road classes $3) or of the county edge (county $4).
WITH bnd AS (
    SELECT f.grp, ST_Boundary(f.geom) AS line,
           ST_Buffer(ST_Boundary(f.geom)::geography, $1)::geometry AS buf
    FROM zfinal f
),
near AS (
    SELECT bnd.grp, b.id, b.kind, coalesce(b.road_class, '') AS road_class, b.name,
           (b.kind = ANY ($2::text[]) AND (b.kind <> 'road' OR b.road_class = ANY ($3::text[]))) AS boundary_class,
           ST_Buffer(b.geom::geography, $1)::geometry AS bbuf,
           bnd.line
    FROM bnd JOIN barriers b ON ST_Intersects(b.geom, bnd.buf)
),
shared AS (
    SELECT grp, id, kind, road_class, name, boundary_class, bbuf,
           ST_Length(ST_Intersection(line, bbuf)::geography) AS len
    FROM near
)
SELECT 'barrier' AS what, grp, id, kind, road_class, name, len
FROM shared WHERE len >= 10
UNION ALL
SELECT 'share', bnd.grp, 0, '', '', '',
       coalesce(ST_Length(ST_Intersection(bnd.line, ST_Union(
           (SELECT ST_Union(s.bbuf) FROM shared s WHERE s.grp = bnd.grp AND s.boundary_class),
           (SELECT ST_Buffer(ST_Boundary(a.geom)::geography, $1)::geometry FROM admin_areas a WHERE a.id = $4)))::geography)
        / nullif(ST_Length(bnd.line::geography), 0), 0)
FROM bnd
ORDER BY 2, 1, 7 DESC, 3
