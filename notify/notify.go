package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Event is one thing that happened to one workload.
type Event struct {
	Workload string    `json:"workload"` // kind/name
	From     string    `json:"from"`
	To       string    `json:"to"`
	Outcome  string    `json:"outcome"` // succeeded, rolled_back, failed, refused, skipped, aborted
	Reason   string    `json:"reason,omitempty"`
	Trigger  string    `json:"trigger"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
}

// Format renders an event as a request body.
type Format interface {
	// Body returns the content type and body for e.
	Body(e Event) (contentType string, body []byte, err error)
}

// Sink is one destination.
type Sink struct {
	// URL is an http(s):// address Format's body is POSTed to, or a shoutrrr service
	// URL (ntfy://…, smtp://…, discord://…; see [Service]) that gets Template's text.
	URL    string
	Format Format
	// Template renders the message of a shoutrrr URL (nil: [DefaultTemplate] of its
	// service).
	Template *Template
	// On lists the outcomes sent; empty sends every outcome.
	On []string
}

// sink is a Sink as the Notifier sends to it.
type sink struct {
	Sink
	service string   // the shoutrrr service, "" for an http(s) sink
	name    string   // what is logged of the URL
	secrets []string // what is redacted from a shoutrrr error
}

func (s Sink) wants(outcome string) bool {
	if len(s.On) == 0 {
		return true
	}
	for _, o := range s.On {
		if o == outcome {
			return true
		}
	}
	return false
}

// host is what may be logged of a sink: its URL can carry a token in the path.
func (s Sink) host() string {
	if u, err := url.Parse(s.URL); err == nil {
		return u.Host
	}
	return "(bad url)"
}

// Options tune a Notifier; zero values take the defaults.
type Options struct {
	// Client sends the requests (default: 10 s timeout, proxy from the environment).
	Client *http.Client
	// Retries after a failed attempt (default 3), Backoff before the first retry
	// (default 1 s; quadrupled each time).
	Retries int
	Backoff time.Duration
	// Queue bounds events waiting to be sent (default 256); beyond it events are dropped
	// and logged.
	Queue int
	// Timeout bounds one send through a shoutrrr service (default 30 s).
	Timeout time.Duration
}

// Notifier sends events to sinks in the background.
type Notifier struct {
	sinks   atomic.Pointer[[]sink] // swapped whole by SetSinks
	client  *http.Client
	retries int
	backoff time.Duration
	timeout time.Duration
	log     zerolog.Logger
	queue   chan Event
}

// New returns a Notifier; call Run to start sending. A shoutrrr URL that does not
// read (config validation checks them first) is logged, by service only, and left out.
func New(sinks []Sink, log zerolog.Logger, o Options) *Notifier {
	n := &Notifier{client: o.Client, retries: o.Retries, backoff: o.Backoff, timeout: o.Timeout, log: log}
	n.SetSinks(sinks)
	if n.timeout == 0 {
		n.timeout = 30 * time.Second
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: 10 * time.Second}
	}
	if n.retries == 0 {
		n.retries = 3
	}
	if n.backoff == 0 {
		n.backoff = time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	n.queue = make(chan Event, o.Queue)
	return n
}

// SetSinks puts sinks in force (a configuration reload): events delivered from now on
// go to them, those queued before included. A shoutrrr URL that does not read is
// logged, by service only, and left out.
func (n *Notifier) SetSinks(sinks []Sink) {
	var out []sink
	for _, s := range sinks {
		in := sink{Sink: s}
		if service, ok := Service(s.URL); ok {
			in.service, in.name, in.secrets = service, logName(service, s.URL), secretParts(service, s.URL)
			if in.Template == nil {
				in.Template, _ = ParseTemplate(DefaultTemplate(service)) // the defaults parse
			}
			if service != "matrix" { // reading a matrix URL logs in: left to the send
				if _, err := locate(s.URL, in.secrets); err != nil {
					n.log.Error().Err(err).Str("sink", in.name).Msg("notification URL does not read; sink left out")
					continue
				}
			}
		} else {
			in.name = s.host()
		}
		out = append(out, in)
	}
	n.sinks.Store(&out)
}

// Send queues e for every sink that wants its outcome. It never blocks.
func (n *Notifier) Send(e Event) {
	if n == nil || len(*n.sinks.Load()) == 0 {
		return
	}
	select {
	case n.queue <- e:
	default:
		n.log.Warn().Str("workload", e.Workload).Str("outcome", e.Outcome).Msg("notification queue full; event dropped")
	}
}

// drainGrace bounds the sending of what is queued when hoist stops.
const drainGrace = 5 * time.Second

// Run sends queued events until ctx ends, then what is still queued, for drainGrace
// at most.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case e := <-n.queue:
			n.deliver(ctx, e)
		case <-ctx.Done():
			// What is queued still goes out, within a short grace period.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainGrace)
			defer cancel()
			for {
				select {
				case e := <-n.queue:
					n.deliver(dctx, e)
				default:
					return
				}
			}
		}
	}
}

func (n *Notifier) deliver(ctx context.Context, e Event) {
	for _, s := range *n.sinks.Load() {
		if !s.wants(e.Outcome) {
			continue
		}
		send := n.post
		if s.service != "" {
			send = n.shout
		}
		if err := send(ctx, s, e); err != nil {
			n.log.Warn().Err(err).Str("sink", s.name).Str("workload", e.Workload).Str("outcome", e.Outcome).Msg("notification not delivered")
		}
	}
}

// post sends e to s, retrying what may succeed later (network errors, 429, 5xx) while
// ctx lasts.
func (n *Notifier) post(ctx context.Context, s sink, e Event) error {
	ctype, body, err := s.Format.Body(e)
	if err != nil {
		return err
	}
	wait := n.backoff
	for attempt := 0; ; attempt++ {
		err = n.once(ctx, s, ctype, body)
		var perm *permanentError
		if err == nil || errors.As(err, &perm) || attempt >= n.retries || ctx.Err() != nil {
			return err
		}
		if ra, ok := err.(*retryAfterError); ok && ra.after > wait {
			wait = min(ra.after, time.Minute)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 4
	}
}

type permanentError struct{ status int }

func (e *permanentError) Error() string { return "sink answered " + strconv.Itoa(e.status) }

type retryAfterError struct {
	status int
	after  time.Duration
}

func (e *retryAfterError) Error() string { return "sink answered " + strconv.Itoa(e.status) }

func (n *Notifier) once(ctx context.Context, s sink, ctype string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification request: %w", err) // holds no URL: url.Error is not used here
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "hoist")
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error would print the URL and its token
		}
		return fmt.Errorf("post: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &retryAfterError{status: resp.StatusCode, after: time.Duration(after) * time.Second}
	default:
		return &permanentError{status: resp.StatusCode}
	}
}
