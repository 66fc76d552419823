-- A notice, written once (notices are append-only).
INSERT INTO notices (id, county_id, kind, status, title_zh, title_en, body_zh, body_en, effective_at, published_at,
                     published_by, references_notice_id, cap_identifier, cap_msg_type, cap_xml)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);
