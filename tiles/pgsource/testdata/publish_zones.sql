-- Test and benchmark fixture: publishes high-risk zones without the
-- lifecycle API. Every k-th community of the first county becomes an active
-- zone (version 1, its buildings as members), and one notice publishes them
-- all (published_notice_id set, as the publisher will). The number of zones
-- is the setting riskzone.publish_zones (default 10):
--
--   psql -c "SET riskzone.publish_zones = 200" -f publish_zones.sql
--
-- Like every writer, it bumps the zones layer and notifies riskzone_layers.
DO $$
DECLARE
    n        int := coalesce(nullif(current_setting('riskzone.publish_zones', true), ''), '10')::int;
    total    int;
    step     int;
    county   bigint;
    notice   bigint;
    zone     bigint;
    made     int := 0;
    c        record;
BEGIN
    SELECT count(*) INTO total FROM admin_areas WHERE level = 'community';
    step := greatest(1, total / greatest(n, 1));
    SELECT id INTO county FROM admin_areas WHERE level = 'county' ORDER BY id LIMIT 1;
    INSERT INTO notices (county_id, kind, title_zh, title_en, body_zh, body_en, effective_at,
                         cap_identifier, cap_msg_type, cap_xml)
    VALUES (county, 'designate', '关于划定高风险区的通告（测试）', 'Designation of high-risk zones (test)',
            '经专家研判，划定以下区域为高风险区。', 'After expert assessment, the following areas are high-risk zones.',
            now(), 'riskzone-test-' || gen_random_uuid(), 'Alert', '<alert/>')
    RETURNING id INTO notice;
    FOR c IN
        SELECT a.id, a.name, a.geom, row_number() OVER (ORDER BY a.id) AS rn
        FROM admin_areas a
        WHERE a.level = 'community'
        ORDER BY a.id
    LOOP
        CONTINUE WHEN (c.rn - 1) % step <> 0;
        EXIT WHEN made >= n;
        made := made + 1;
        INSERT INTO zones (county_id, current_version, status) VALUES (county, 1, 'active') RETURNING id INTO zone;
        INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population,
                                   staff_required, area_m2, rule_set_id, clock_start, valid_from, reason)
        SELECT zone, 1, 'high', 'active', 'designate', c.name || '高风险区', c.geom,
               coalesce(array_agg(b.id ORDER BY b.id) FILTER (WHERE b.id IS NOT NULL), '{}'),
               coalesce(sum(b.population), 0), ceil(coalesce(sum(b.population), 0) / 10.0),
               ST_Area(c.geom::geography), '2022-11', DATE '2022-11-20', TIMESTAMPTZ '2022-11-20 10:00+08',
               'test fixture'
        FROM buildings b
        WHERE b.community_id = c.id;
        INSERT INTO notice_zones (notice_id, zone_id, version) VALUES (notice, zone, 1);
        UPDATE zone_versions SET published_notice_id = notice WHERE zone_id = zone AND version = 1;
    END LOOP;
    UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer IN ('zones', 'proposals');
    PERFORM pg_notify('riskzone_layers', '[proposals zones]');
END $$;
