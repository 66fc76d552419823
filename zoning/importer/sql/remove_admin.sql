-- Admin areas of this source (sharing interior with the scope) that are not
-- in the file. An area that cases, zones, proposals or notices belong to is
-- kept and counted as retained.
WITH gone AS (
    SELECT a.id FROM admin_areas a CROSS JOIN import_params p
    WHERE a.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(a.geom, sc.geom)
                                   AND ST_Relate(a.geom, sc.geom, 'T********')))
      AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'admin' AND r.source_id = a.source_id)
), kept AS (
    SELECT g.id FROM gone g
    WHERE EXISTS (SELECT 1 FROM cases c WHERE c.county_id = g.id)
       OR EXISTS (SELECT 1 FROM zones z WHERE z.county_id = g.id)
       OR EXISTS (SELECT 1 FROM proposal_runs pr WHERE pr.county_id = g.id)
       OR EXISTS (SELECT 1 FROM proposals pp WHERE pp.county_id = g.id)
       OR EXISTS (SELECT 1 FROM notices n WHERE n.county_id = g.id)
)
SELECT coalesce(array_agg(g.id ORDER BY g.id) FILTER (WHERE g.id NOT IN (SELECT id FROM kept)), '{}'),
       (SELECT count(*) FROM kept)
FROM gone g
