-- The latest engine runs of county $1 with their proposal counts.
SELECT r.id, r.at, r.created_at, coalesce(u.username, ''), r.params,
			(SELECT count(*) FROM proposals p WHERE p.run_id = r.id),
			(SELECT count(*) FROM proposals p WHERE p.run_id = r.id AND p.status = 'proposed')
		FROM proposal_runs r LEFT JOIN users u ON u.id = r.created_by
		WHERE r.county_id = $1 ORDER BY r.id DESC LIMIT 20
