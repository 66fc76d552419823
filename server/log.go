package server

import (
	"time"

	"github.com/labstack/echo/v4"
)

// requestLog logs one line per request: method, route pattern (never the raw
// query, which may carry an address), status, size and duration.
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		res := c.Response()
		s.log.Info("request",
			"method", c.Request().Method,
			"route", c.Path(),
			"status", res.Status,
			"bytes", res.Size,
			"ms", float64(time.Since(start).Microseconds())/1000,
			"request_id", res.Header().Get(echo.HeaderXRequestID),
		)
		return nil
	}
}
