UPDATE compounds SET community_id = NULL WHERE community_id = ANY ($1)
