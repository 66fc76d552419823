-- Admin areas of the file: insert the new, update the changed (by source id),
-- leave the identical untouched. rule_set_id only belongs to counties.
WITH m AS (
    INSERT INTO admin_areas AS a (level, name, name_en, geom, source, source_id, updated_at)
    SELECT r.kind, r.name, r.name_en, r.geom, p.source, r.source_id, now()
    FROM import_rows r CROSS JOIN import_params p
    WHERE r.layer = 'admin' AND r.geom IS NOT NULL
    ON CONFLICT (source, source_id) DO UPDATE SET
        level = excluded.level,
        name = excluded.name,
        name_en = excluded.name_en,
        geom = excluded.geom,
        rule_set_id = CASE WHEN excluded.level = 'county' THEN a.rule_set_id END,
        updated_at = now()
    WHERE (a.level, a.name, a.name_en) IS DISTINCT FROM (excluded.level, excluded.name, excluded.name_en)
       OR ST_AsEWKB(a.geom) <> ST_AsEWKB(excluded.geom)
    RETURNING a.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'admin', id, inserted FROM m
