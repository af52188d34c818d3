package registry

import (
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound means the registry has no such tag or repository.
var ErrNotFound = errors.New("not found in registry")

// Error is a registry failure that says whether trying again later can help.
type Error struct {
	Status    int // HTTP status, 0 for a transport failure
	Retryable bool
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for 404s.
func (e *Error) Is(target error) bool { return target == ErrNotFound && e.Status == http.StatusNotFound }

// IsRetryable reports whether err is a registry failure that may pass later
// (429, 5xx, network errors).
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// classify is the one place that decides retryable vs permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		s := te.StatusCode
		return &Error{Status: s, Retryable: s == http.StatusTooManyRequests || s >= 500, Err: err}
	}
	return &Error{Retryable: true, Err: err}
}
