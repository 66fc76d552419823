-- Clear the links to admin areas about to be deleted ($1); the assignment
-- step recomputes them from the areas that remain.
UPDATE buildings
SET county_id = CASE WHEN county_id = ANY ($1) THEN NULL ELSE county_id END,
    community_id = CASE WHEN community_id = ANY ($1) THEN NULL ELSE community_id END
WHERE county_id = ANY ($1) OR community_id = ANY ($1)
