-- Collection "zones" (public): each published risk zone. Every source of an
-- OGC collection or export returns the same columns: k1, k2 (the keyset
-- paging key, unique and stable), fid (the feature id), geom (SRID 4326),
-- t0 and t1 (the feature's time span, NULL when open or timeless) and props
-- (the properties as json). :params is replaced by the parameter row p
-- (t_from, t_to, timed, county, level, status, zone).
--
-- Without a datetime, or at an instant: the version of each zone in force
-- now (riskzone_now()) or then, public_zone_versions_at (migration 009:
-- one definition of "in force at T" for the map and for "as of"), the
-- active ones unless p.status says otherwise. For an interval (p.timed,
-- t_from <> t_to or an open end): from the public timeline (view
-- public_zone_timeline: a version is in force from its notice's effective
-- time until a newer version of the zone took effect), the latest version
-- in force during it that matches the status filter (active unless
-- p.status says otherwise). Only published versions are read
-- (published_notice_id set); nothing here comes from cases.
-- A building's address (as zoning.FormatAddressesZh writes one building):
-- compound + number 号楼; else street + house number 号 (with the name);
-- else the name; else 无名楼栋 with its source id (zoning.SourceRef).
SELECT z.zone_id AS k1, 0::bigint AS k2, z.zone_id::text AS fid, z.geom, z.since AS t0, NULL::timestamptz AS t1,
       json_build_object(
           'zone_id', z.zone_id, 'version', z.version, 'county_id', z.county_id, 'county', a.name,
           'name', z.name, 'level', z.level, 'status', z.status, 'since', z.since,
           'earliest_lifting', (z.clock_start + r.clean_days)::text,
           'population', z.population, 'staff_required', z.staff_required,
           'buildings', cardinality(z.building_ids),
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
                   FROM buildings b WHERE b.id = ANY (z.building_ids)
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
                   WHERE u.id = ANY (z.unit_ids) AND NOT (u.building_id = ANY (z.building_ids))) m),
           'notice_ids', (SELECT coalesce(json_agg(tl.notice_id ORDER BY tl.notice_id), '[]'::json)
                          FROM public_zone_timeline tl WHERE tl.zone_id = z.zone_id AND tl.version <= z.version)
       ) AS props
FROM (
    SELECT pv.zone_id, pv.version, pv.county_id, pv.name, pv.level, pv.status, pv.geom, pv.building_ids, pv.unit_ids,
           pv.population, pv.staff_required, pv.clock_start, pv.rule_set_id,
           (SELECT min(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = pv.zone_id) AS since
    FROM :params, public_zone_versions_at(CASE WHEN p.timed THEN p.t_from ELSE riskzone_now() END) pv
    WHERE (NOT p.timed OR p.t_from = p.t_to)
      AND ((p.status = '' AND pv.status = 'active') OR p.status = 'all' OR pv.status = p.status)
      AND (p.county = 0 OR pv.county_id = p.county)
      AND (p.level = '' OR pv.level = p.level)
      AND (p.zone = 0 OR pv.zone_id = p.zone)
  UNION ALL
    SELECT h.zone_id, h.version, h.county_id, h.name, h.level, h.status, h.geom, h.building_ids, h.unit_ids,
           h.population, h.staff_required, h.clock_start, h.rule_set_id, h.since
    FROM (
        SELECT DISTINCT ON (t.zone_id) t.zone_id, t.version, t.county_id, v.name, v.level, v.status, v.geom, v.building_ids,
               v.unit_ids, v.population, v.staff_required, v.clock_start, v.rule_set_id,
               (SELECT min(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = t.zone_id) AS since
        FROM :params, public_zone_timeline t
        JOIN zone_versions v ON v.zone_id = t.zone_id AND v.version = t.version AND v.published_notice_id IS NOT NULL
        WHERE p.timed AND p.t_from IS DISTINCT FROM p.t_to
          AND t.valid_from <= coalesce(p.t_to, 'infinity')
          AND (t.valid_to IS NULL OR t.valid_to > coalesce(p.t_from, '-infinity'))
          AND (p.county = 0 OR t.county_id = p.county)
          AND (p.zone = 0 OR t.zone_id = p.zone)
          AND ((p.status = '' AND v.status = 'active') OR p.status = 'all' OR v.status = p.status)
          AND (p.level = '' OR v.level = p.level)
        ORDER BY t.zone_id, t.valid_from DESC
    ) h
) z
JOIN admin_areas a ON a.id = z.county_id
JOIN rule_sets r ON r.id = z.rule_set_id
