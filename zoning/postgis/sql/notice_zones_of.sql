-- The zone versions notices published ($1 notice ids).
SELECT nz.notice_id, nz.zone_id, nz.version, v.name, v.level, v.status, v.change
FROM notice_zones nz
JOIN zone_versions v ON v.zone_id = nz.zone_id AND v.version = nz.version
WHERE nz.notice_id = ANY ($1::bigint[])
ORDER BY nz.notice_id, nz.zone_id;
