package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
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

	cur atomic.Pointer[sharedDeadline]
}

// sharedDeadline is one deadline that the requests starting within one slice (1/32) of
// the timeout under the same caller's context share: a poll cycle's thousands of HEADs
// need not each build and stop a timer. It ends one timeout after its slice ends, so
// each request still gets at least the whole timeout (and at most 1/32 more).
type sharedDeadline struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc // not called: it ends by itself, or with its parent
	until  time.Time          // requests starting before this may share it
}

// context returns the deadline context for a request started at start, and the cancel
// to call when it is done (nil when the context is shared).
func (d *deadline) context(parent context.Context, start time.Time) (context.Context, context.CancelFunc) {
	slice := d.after / 32
	if slice <= 0 || !reflect.TypeOf(parent).Comparable() {
		return context.WithDeadlineCause(parent, start.Add(d.after), errDeadline)
	}
	if s := d.cur.Load(); s != nil && s.parent == parent && start.Before(s.until) {
		return s.ctx, nil
	}
	ctx, cancel := context.WithDeadlineCause(parent, start.Add(slice+d.after), errDeadline)
	d.cur.Store(&sharedDeadline{parent: parent, ctx: ctx, cancel: cancel, until: start.Add(slice)})
	return ctx, nil
}

func (d *deadline) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx, cancel := d.context(req.Context(), start)
	resp, err := d.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		missed := context.Cause(ctx) == errDeadline
		if cancel != nil {
			cancel()
		}
		if missed {
			return nil, d.missed(req, start)
		}
		return nil, err
	}
	if resp.Body == http.NoBody { // a HEAD's answer: complete already
		if cancel != nil {
			cancel()
		}
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
	cancel context.CancelFunc // nil when the context is shared
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
	if b.cancel != nil {
		b.cancel()
	}
	return err
}
