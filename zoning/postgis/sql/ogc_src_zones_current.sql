-- Collection "zones-current" (agencies, experts and admins; never public):
-- the newest version of each zone whether published or not (approved
-- changes waiting for a notice included), with "published" saying which.
-- With a datetime: the version in force then by the internal history
-- (valid_from, valid_to). Nothing here comes from cases beyond the lifting
-- clock every public zone shows too. Columns as in ogc_src_zones.sql.
-- A building's address (as zoning.FormatAddressesZh writes one building):
-- compound + number 号楼; else street + house number 号 (with the name);
-- else the name; else 无名楼栋 with its source id (zoning.SourceRef).
SELECT v.zone_id AS k1, 0::bigint AS k2, v.zone_id::text AS fid, v.geom, v.valid_from AS t0, v.valid_to AS t1,
       json_build_object(
           'zone_id', v.zone_id, 'version', v.version, 'county_id', v.county_id, 'county', a.name,
           'name', v.name, 'level', v.level, 'status', v.status, 'change', v.change,
           'published', v.published_notice_id IS NOT NULL, 'valid_from', v.valid_from, 'valid_to', v.valid_to,
           'earliest_lifting', (v.clock_start + r.clean_days)::text,
           'population', v.population, 'staff_required', v.staff_required,
           'buildings', cardinality(v.building_ids),
           'addresses', (SELECT coalesce(json_agg(m.addr ORDER BY m.bid, m.unum), '[]'::json) FROM (
                   SELECT b.id AS bid, 0 AS unum, (SELECT CASE WHEN b.addr_number <> '' AND x.cp <> '' THEN x.cp || b.addr_number || '号楼'
                       WHEN b.addr_number <> '' THEN b.addr_street || CASE WHEN b.addr_street ~ '[A-Za-z0-9]$' THEN ' ' ELSE '' END
                            || b.addr_number || '号' || coalesce('（' || nullif(b.name, '') || '）', '')
                       WHEN b.name <> '' THEN x.cp || b.name
                       ELSE x.cp || '无名楼栋（' || CASE WHEN b.source ILIKE '%osm%' AND b.source_id ~ '^[nwr][0-9]+$'
                            THEN 'OSM ' || CASE left(b.source_id, 1) WHEN 'n' THEN 'node' WHEN 'w' THEN 'way' ELSE 'relation' END
                                 || ' ' || substr(b.source_id, 2)
                            WHEN b.source_id <> '' THEN b.source || ' ' || b.source_id ELSE '编号' || b.id END || '）' END
                   FROM (SELECT coalesce(nullif(b.addr_compound, ''), (SELECT c.name FROM compounds c WHERE c.id = b.compound_id), '') AS cp) x) AS addr
                   FROM buildings b WHERE b.id = ANY (v.building_ids)
                 UNION ALL
                   SELECT b.id, u.number, (SELECT CASE WHEN b.addr_number <> '' AND x.cp <> '' THEN x.cp || b.addr_number || '号楼'
                       WHEN b.addr_number <> '' THEN b.addr_street || CASE WHEN b.addr_street ~ '[A-Za-z0-9]$' THEN ' ' ELSE '' END
                            || b.addr_number || '号' || coalesce('（' || nullif(b.name, '') || '）', '')
                       WHEN b.name <> '' THEN x.cp || b.name
                       ELSE x.cp || '无名楼栋（' || CASE WHEN b.source ILIKE '%osm%' AND b.source_id ~ '^[nwr][0-9]+$'
                            THEN 'OSM ' || CASE left(b.source_id, 1) WHEN 'n' THEN 'node' WHEN 'w' THEN 'way' ELSE 'relation' END
                                 || ' ' || substr(b.source_id, 2)
                            WHEN b.source_id <> '' THEN b.source || ' ' || b.source_id ELSE '编号' || b.id END || '）' END
                   FROM (SELECT coalesce(nullif(b.addr_compound, ''), (SELECT c.name FROM compounds c WHERE c.id = b.compound_id), '') AS cp) x) || u.name
                   FROM units u JOIN buildings b ON b.id = u.building_id
                   WHERE u.id = ANY (v.unit_ids) AND NOT (u.building_id = ANY (v.building_ids))) m)
       ) AS props
FROM (
    SELECT DISTINCT ON (zv.zone_id) zv.*, z.county_id
    FROM :params, zone_versions zv
    JOIN zones z ON z.id = zv.zone_id
    WHERE ((NOT p.timed AND zv.valid_to IS NULL)
           OR (p.timed AND zv.valid_from <= coalesce(p.t_to, 'infinity')
               AND (zv.valid_to IS NULL OR zv.valid_to > coalesce(p.t_from, '-infinity'))))
      AND ((p.status = '' AND zv.status = 'active') OR p.status = 'all' OR zv.status = p.status)
      AND (p.county = 0 OR z.county_id = p.county)
      AND (p.level = '' OR zv.level = p.level)
      AND (p.zone = 0 OR zv.zone_id = p.zone)
    ORDER BY zv.zone_id, zv.version DESC
) v
JOIN admin_areas a ON a.id = v.county_id
JOIN rule_sets r ON r.id = v.rule_set_id
