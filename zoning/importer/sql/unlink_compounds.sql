UPDATE buildings SET compound_id = NULL WHERE compound_id = ANY ($1)
