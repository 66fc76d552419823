-- Parent of each admin area of this source: the finest area of a coarser
-- level (any source) that holds a point of its interior.
WITH rank(level, n) AS (
    VALUES ('province', 1), ('city', 2), ('county', 3), ('street', 4), ('community', 5)
), want AS (
    SELECT c.id,
           (SELECT a.id
            FROM admin_areas a JOIN rank ra ON ra.level = a.level
            WHERE ra.n < rc.n AND a.id <> c.id AND ST_Intersects(a.geom, ST_PointOnSurface(c.geom))
            ORDER BY ra.n DESC, a.id
            LIMIT 1) AS parent_id
    FROM admin_areas c JOIN rank rc ON rc.level = c.level
    WHERE c.source = (SELECT source FROM import_params)
)
UPDATE admin_areas c SET parent_id = w.parent_id
FROM want w
WHERE c.id = w.id AND c.parent_id IS DISTINCT FROM w.parent_id
