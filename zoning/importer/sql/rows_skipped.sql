SELECT layer, source_id, reason
FROM import_rows
WHERE status = 'skipped'
ORDER BY seq
LIMIT $1
