package server

// authRoutes registers login/logout and the current-user endpoint.
// (Filled in by the auth work: sessions, CSRF, API tokens, roles.)
func (s *Server) authRoutes() {}
