package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound means the registry has no such tag or repository.
var ErrNotFound = errors.New("not found in registry")

// ErrRateLimited means the registry refused for rate limiting (429), or hoist held the
// request back because the registry's budget is at the reserve.
var ErrRateLimited = errors.New("registry rate limit")

// Error is a registry failure that says whether trying again later can help.
type Error struct {
	Status    int // HTTP status, 0 for a transport failure or a request hoist held back
	Retryable bool
	// RetryAfter, when set, is the earliest time a retry is worth it (Retry-After,
	// backoff or rate-limit budget).
	RetryAfter time.Time
	// RateLimited is set for a 429 and for requests held back by the budget reserve.
	RateLimited bool
	Err         error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for 404s and errors.Is(err, ErrRateLimited)
// true for rate limiting.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.RateLimited
	}
	return false
}

// IsRetryable reports whether err is a registry failure that may pass later
// (429, 5xx, network errors, no answer within the deadline, requests held back by
// backoff or budget).
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// pauseError is what the limiter returns instead of sending a request (or after its
// last retry of a 429/5xx). classify turns it into an *Error.
type pauseError struct {
	Status int       // the registry's last answer, 0 if the request was not sent
	Until  time.Time // no request before this
	Cause  int       // the status that started the pause
	Budget bool      // held back by the rate-limit reserve
	// NoAnswer: the pause began with a request that got no answer within its
	// deadline; nobody waits for such a pause, requests fail at once.
	NoAnswer bool
	Reason   string
}

func (e *pauseError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.Reason, e.Until.UTC().Format(time.RFC3339))
}

// classify is the one place that decides retryable vs permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var pe *pauseError
	if errors.As(err, &pe) {
		return &Error{Status: pe.Status, Retryable: true, RetryAfter: pe.Until,
			RateLimited: pe.Budget || pe.Cause == http.StatusTooManyRequests, Err: err}
	}
	var na *noAnswerError
	if errors.As(err, &na) {
		// The registry (or the network to it) hangs: the next cycle may get through.
		return &Error{Retryable: true, Err: err}
	}
	if errors.Is(err, errPlainHTTP) {
		// The registry did not answer over TLS and may not be asked without it: that
		// stays so until its configuration (insecure: true) or certificate changes.
		return &Error{Retryable: false, Err: err}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		s := te.StatusCode
		return &Error{Status: s, Retryable: retryableStatus(s), RateLimited: s == http.StatusTooManyRequests, Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Retryable: false, Err: err} // we are shutting down
	}
	// A certificate the system does not trust stays untrusted until someone acts.
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return &Error{Retryable: false, Err: fmt.Errorf("%w (the registry's TLS certificate is not trusted: install its CA on this host, or set insecure: true for a registry without TLS)", err)}
	}
	// Network failures and deadlines: the next cycle may get through.
	return &Error{Retryable: true, Err: err}
}

// retryableStatus is true for answers that say "later": 408, 429 and 5xx.
func retryableStatus(s int) bool {
	return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500
}
