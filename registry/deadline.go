package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultRequestTimeout is how long one request to a registry may take, answer and
// body included, unless Options or the registry's Credential say otherwise.
const DefaultRequestTimeout = 20 * time.Second

// noAnswerError is a request that got no complete answer (status, headers and body)
// within its registry's deadline. classify makes it retryable.
type noAnswerError struct {
	Registry string
	Host     string // the host asked: the registry's, or its token service's
	After    time.Duration
}

func (e *noAnswerError) Error() string {
	s := "registry " + e.Registry + " did not answer within " + e.After.String()
	if e.Host != "" && e.Host != e.Registry {
		s += " (asked " + e.Host + ")"
	}
	return s
}

// errDeadline is the cause of a context that deadline ended, so that its own deadline
// is told apart from the caller's.
var errDeadline = errors.New("registry request deadline")

// deadline sits under the limiter: every request to a registry (ping, token, HEAD, tag
// list page, manifest GET) gets after to answer in full, body included, whatever the
// caller's context allows. A miss comes back as a *noAnswerError, from RoundTrip or
// from reading the body, and expired is told of it (the limiter pauses the registry).
type deadline struct {
	registry string
	after    time.Duration
	inner    http.RoundTripper
	expired  func(start time.Time, err *noAnswerError)
	// pingFallback: ggcr pings this registry over https and over http, so an https
	// ping that gets no answer says nothing yet; the http one decides.
	pingFallback bool
}

func (d *deadline) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(req.Context(), d.after, errDeadline)
	start := time.Now()
	resp, err := d.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		missed := context.Cause(ctx) == errDeadline
		cancel()
		if missed {
			return nil, d.missed(req, start)
		}
		return nil, err
	}
	if resp.Body == http.NoBody { // a HEAD's answer: complete already
		cancel()
		return resp, nil
	}
	resp.Body = &deadlineBody{rc: resp.Body, ctx: ctx, cancel: cancel, d: d, req: req, start: start}
	return resp, nil
}

func (d *deadline) missed(req *http.Request, start time.Time) error {
	ping := req.Method == http.MethodGet && (req.URL.Path == "/v2/" || req.URL.Path == "/v2")
	err := &noAnswerError{Registry: d.registry, Host: req.URL.Host, After: d.after}
	if d.expired != nil && !(d.pingFallback && ping && req.URL.Scheme == "https") {
		d.expired(start, err)
	}
	return err
}

// deadlineBody ends the request's deadline when the body is closed, and turns a read
// cut short by it into a *noAnswerError.
type deadlineBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
	d      *deadline
	req    *http.Request
	start  time.Time

	once sync.Once
	err  error
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && context.Cause(b.ctx) == errDeadline {
		b.once.Do(func() { b.err = b.d.missed(b.req, b.start) })
		err = b.err
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
