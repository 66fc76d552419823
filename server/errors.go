package server

import (
	"errors"
	"net/http"
	"syscall"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// statusOf is the one table from domain error kinds to HTTP statuses.
var statusOf = map[error]int{
	zoning.ErrInvalid:      http.StatusBadRequest,
	zoning.ErrNotFound:     http.StatusNotFound,
	zoning.ErrConflict:     http.StatusConflict,
	zoning.ErrUnauthorized: http.StatusUnauthorized,
	zoning.ErrForbidden:    http.StatusForbidden,
	zoning.ErrTooLarge:     http.StatusRequestEntityTooLarge,
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names the problem: a stable code and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// handleError writes every error as a JSON body. Domain errors map through
// statusOf; anything else is an internal error, logged with its cause and
// answered without it.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	msg := "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(status)
		}
	case zoning.Kind(err) != nil:
		status = statusOf[zoning.Kind(err)]
		msg = zoning.Message(err)
	}
	if status >= 500 {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		s.log.Error("internal error", "method", c.Request().Method, "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		msg = "internal error"
	}
	body := ErrorBody{Error: ErrorDetail{Code: codeOf(status), Message: msg}}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
