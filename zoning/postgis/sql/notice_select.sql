-- Notices with their county and their number within it (第N号): the count of
-- the county's notices up to it (notices are append-only, ids increase).
SELECT n.id, n.county_id, a.name, a.name_en,
       (SELECT count(*) FROM notices m WHERE m.county_id = n.county_id AND m.id <= n.id)::int,
       n.kind, n.status, n.title_zh, n.title_en, n.body_zh, n.body_en, n.effective_at, n.published_at,
       n.references_notice_id, n.cap_identifier, n.cap_msg_type
FROM notices n
JOIN admin_areas a ON a.id = n.county_id
