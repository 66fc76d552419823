-- Collection "notices" (public): every published notice, its geometry the
-- union of the published zone versions it announced (NULL for a notice
-- without zones). Time: the publication time. Columns as in
-- ogc_src_zones.sql.
SELECT n.id AS k1, 0::bigint AS k2, n.id::text AS fid, g.geom, n.published_at AS t0, n.published_at AS t1,
       json_build_object(
           'county_id', n.county_id, 'kind', n.kind, 'status', n.status, 'title_zh', n.title_zh, 'title_en', n.title_en,
           'effective_at', n.effective_at, 'published_at', n.published_at, 'cap_identifier', n.cap_identifier,
           'cap_msg_type', n.cap_msg_type, 'references_notice_id', n.references_notice_id,
           'zone_ids', coalesce(g.zone_ids, '[]'::json)
       ) AS props
FROM :params, notices n
LEFT JOIN LATERAL (
    SELECT ST_Multi(ST_Union(v.geom))::geometry(MultiPolygon, 4326) AS geom, json_agg(nz.zone_id ORDER BY nz.zone_id) AS zone_ids
    FROM notice_zones nz
    JOIN zone_versions v ON v.zone_id = nz.zone_id AND v.version = nz.version AND v.published_notice_id IS NOT NULL
    WHERE nz.notice_id = n.id
) g ON true
WHERE (NOT p.timed OR (n.published_at >= coalesce(p.t_from, '-infinity') AND n.published_at <= coalesce(p.t_to, 'infinity')))
  AND (p.county = 0 OR n.county_id = p.county)
  AND (p.zone = 0 OR EXISTS (SELECT 1 FROM notice_zones nz WHERE nz.notice_id = n.id AND nz.zone_id = p.zone))
