-- Collection "zone-versions" (public): the public history, one feature per
-- published zone version a notice announced, in force from that notice's
-- effective time (valid_from) until the zone's next notice took effect
-- (valid_to, NULL while in force). Key (zone_id, version); fid
-- "<zone>-<version>". A datetime keeps the versions in force at that
-- instant or during that interval. Columns as in ogc_src_zones.sql.
SELECT t.zone_id AS k1, t.version::bigint AS k2, t.zone_id || '-' || t.version AS fid, v.geom,
       t.valid_from AS t0, t.valid_to AS t1,
       json_build_object(
           'zone_id', t.zone_id, 'version', t.version, 'county_id', t.county_id, 'name', v.name, 'level', v.level,
           'status', v.status, 'change', v.change, 'notice_id', t.notice_id,
           'valid_from', t.valid_from, 'valid_to', t.valid_to,
           'earliest_lifting', (v.clock_start + r.clean_days)::text,
           'population', v.population, 'staff_required', v.staff_required, 'buildings', cardinality(v.building_ids)
       ) AS props
FROM :params, public_zone_timeline t
JOIN zone_versions v ON v.zone_id = t.zone_id AND v.version = t.version AND v.published_notice_id IS NOT NULL
JOIN rule_sets r ON r.id = v.rule_set_id
WHERE (NOT p.timed OR (t.valid_from <= coalesce(p.t_to, 'infinity')
                       AND (t.valid_to IS NULL OR t.valid_to > coalesce(p.t_from, '-infinity'))))
  AND (p.county = 0 OR t.county_id = p.county)
  AND (p.level = '' OR v.level = p.level)
  AND (p.status IN ('', 'all') OR v.status = p.status)
  AND (p.zone = 0 OR t.zone_id = p.zone)
