// Package zoning is the riskzone domain: cases, zones and their versions, rule
// sets, the proposal engine, the lifecycle and notice text. It has no HTTP.
package zoning

import (
	"errors"
	"fmt"
)

// Sentinel error kinds. Domain and store code wrap them with a message meant
// for the caller; the server maps each kind to one HTTP status in one place.
var (
	ErrInvalid      = errors.New("invalid")      // bad input: 400
	ErrNotFound     = errors.New("not found")    // unknown id: 404
	ErrConflict     = errors.New("conflict")     // stale version, duplicate: 409
	ErrUnauthorized = errors.New("unauthorized") // no or bad credentials: 401
	ErrForbidden    = errors.New("forbidden")    // role or second-person rule: 403
	ErrTooLarge     = errors.New("too large")    // payload over a limit: 413
)

// kindError carries a caller-facing message and one of the sentinel kinds.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Is(target error) bool {
	return target == e.kind
}

// Errorf makes an error of the given kind (ErrInvalid, ErrNotFound, ...) whose
// message is safe to show to the caller. Wrap causes with %w as usual.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Kind returns the sentinel kind of err, or nil for an internal error.
func Kind(err error) error {
	for _, k := range []error{ErrInvalid, ErrNotFound, ErrConflict, ErrUnauthorized, ErrForbidden, ErrTooLarge} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// Message is the caller-facing text of a domain error: the message of the
// outermost kind error in the chain.
func Message(err error) string {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.msg
	}
	return err.Error()
}
