DELETE FROM admin_areas WHERE id = ANY ($1)
