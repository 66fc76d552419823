UPDATE admin_areas SET parent_id = NULL WHERE parent_id = ANY ($1)
