-- Proposals of a county ($1, 0: any) or run ($2, 0: any) by status ($3, or all), newest run first.
SELECT p.id, p.run_id, p.county_id, p.name, p.level, p.status,
			p.population, p.staff_required, p.area_m2, cardinality(p.building_ids), p.building_ids, p.unit_ids, p.boundary_barriers, p.rationale,
			ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 6), p.created_at, coalesce(u.username, ''),
			(SELECT min(z.id) FROM zones z WHERE z.proposal_id = p.id), coalesce(p.decision_reason, ''),
			p.population_estimated, p.workers, p.superseded_by
		FROM proposals p LEFT JOIN users u ON u.id = p.created_by
		WHERE ($1 = 0 OR p.county_id = $1) AND ($2 = 0 OR p.run_id = $2) AND ($3 = 'all' OR p.status = $3)
		ORDER BY p.run_id DESC, p.population DESC, p.id LIMIT 200
