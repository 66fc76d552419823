package server

// tileRoutes registers the vector tiles, TileJSON and styles (issue 7).
func (s *Server) tileRoutes() {}
