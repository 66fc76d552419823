-- Traces of the cases $1 with the place's building and risk flags.
SELECT t.case_id,
       coalesce(t.place_id, 0),
       coalesce(t.building_id, p.building_id, 0),
       coalesce(t.enclosed, p.enclosed, false),
       coalesce(p.poorly_ventilated, false),
       extract(epoch FROM t.ends_at - t.starts_at) / 3600.0
FROM traces t
LEFT JOIN places p ON p.id = t.place_id
WHERE t.case_id = ANY ($1::bigint[])
ORDER BY t.id
