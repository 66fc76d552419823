-- After admin areas or compounds changed: the county, community and compound
-- of the buildings that were not part of this import (those that were got
-- theirs when they were merged).
WITH cand AS MATERIALIZED (
    SELECT b.id, b.county_id, b.community_id, b.compound_id
    FROM buildings b
    WHERE NOT EXISTS (SELECT 1 FROM import_touched t WHERE t.layer = 'buildings' AND t.id = b.id)
      AND NOT EXISTS (SELECT 1 FROM import_rows r CROSS JOIN import_params p
                      WHERE r.layer = 'buildings' AND b.source = p.source AND r.source_id = b.source_id)
), want AS (
    SELECT c.id, c.county_id, c.community_id, c.compound_id,
           (SELECT a.id FROM admin_areas a WHERE a.level = 'county' AND ST_Intersects(a.geom, pt.pt) ORDER BY a.id LIMIT 1) AS new_county,
           (SELECT a.id FROM admin_areas a WHERE a.level = 'community' AND ST_Intersects(a.geom, pt.pt) ORDER BY a.id LIMIT 1) AS new_community,
           (SELECT x.id FROM compounds x WHERE ST_Intersects(x.geom, pt.pt)
            ORDER BY x.name = '', ST_Area(x.geom), x.id LIMIT 1) AS new_compound
    FROM cand c
    JOIN buildings b ON b.id = c.id
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt OFFSET 0) pt
)
UPDATE buildings b
SET county_id = w.new_county, community_id = w.new_community, compound_id = w.new_compound
FROM want w
WHERE b.id = w.id
  AND (w.county_id, w.community_id, w.compound_id) IS DISTINCT FROM (w.new_county, w.new_community, w.new_compound)
