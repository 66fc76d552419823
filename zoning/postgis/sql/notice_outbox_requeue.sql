-- The notices a subscriber ($1) is sent after notice $2 (its counties; an
-- empty list is every county), oldest first, at most $3.
SELECT n.id
FROM notices n
JOIN subscribers s ON s.id = $1
WHERE n.id > $2
  AND (s.county_ids = '{}' OR n.county_id = ANY (s.county_ids))
ORDER BY n.id
LIMIT $3;
