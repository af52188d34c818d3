package registry

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Budget is what hoist knows about one registry's request budget and backoff.
type Budget struct {
	Registry string
	// Remaining and Limit come from the ratelimit-remaining / ratelimit-limit headers
	// (Docker Hub sends them on HEAD too); -1 until the registry sends them.
	Remaining, Limit int
	// Window is the headers' w= parameter, 0 if unknown.
	Window time.Duration
	// Seen is when the headers were last read.
	Seen time.Time
	// Reset is when the window is certainly full again (Seen + Window); zero if unknown.
	Reset time.Time
	// PausedUntil is when hoist sends the next request to this registry (after a 429, a
	// 5xx or a request it did not answer in time, or while Remaining is at the
	// reserve); zero when not paused.
	PausedUntil time.Time
	// Failures is the number of 429/5xx answers, and of requests that got no answer
	// within the deadline, in a row.
	Failures int
}

// limitPolicy is the limiter's configuration, from Options.
type limitPolicy struct {
	reserve     int           // hold back when remaining <= reserve
	recheck     time.Duration // how long a budget pause lasts before one probe
	backoffBase time.Duration
	backoffMax  time.Duration
	maxWait     time.Duration // longest a request waits for a pause before failing
	retries     int           // retries of one request after 429/5xx
}

// limiter is a RoundTripper wrapper, one per registry. It reads the rate-limit headers,
// holds requests back when the budget is at the reserve, and after a 429 or 5xx (or a
// request its deadline cut short, see deadline.go) pauses the whole registry
// (Retry-After, or exponential backoff with jitter) and lets one probe through at a
// time until the registry answers normally again. It never turns a request into
// another (no GET instead of HEAD).
type limiter struct {
	registry string
	inner    http.RoundTripper
	p        limitPolicy
	now      func() time.Time
	probe    chan struct{} // one request in flight while failing
	// calm: not paused, no failure streak, budget not at the reserve. While it holds,
	// a request and its plain answer (no budget header, no 429/5xx) take no lock.
	calm atomic.Bool

	mu        sync.Mutex
	remaining int
	limit     int
	window    time.Duration
	seen      time.Time
	failures  int
	failedAt  time.Time
	until     time.Time // backoff pause
	cause     int       // status that caused the pause
	missed    string    // why, when the pause began with a request that got no answer
}

func newLimiter(registry string, inner http.RoundTripper, p limitPolicy) *limiter {
	return &limiter{registry: registry, inner: inner, p: p, now: time.Now,
		probe: make(chan struct{}, 1), remaining: -1, limit: -1}
}

func (l *limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		release, err := l.admit(req.Context())
		if err != nil {
			return nil, err
		}
		start := l.now()
		resp, err := l.inner.RoundTrip(req)
		failed := l.observe(start, resp, err)
		release()
		if !failed {
			return resp, err
		}
		pe := l.pause(resp.StatusCode, resp.Status)
		retry := attempt < l.p.retries && pe.Until.Sub(l.now()) <= l.p.maxWait &&
			(req.Body == nil || req.Body == http.NoBody)
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if !retry {
			return nil, pe
		}
	}
}

// admit waits for a pause shorter than maxWait, fails fast on a longer one, and while
// the registry is failing lets one request through at a time. release must be called
// when the answer is observed.
func (l *limiter) admit(ctx context.Context) (release func(), err error) {
	if l.calm.Load() {
		return func() {}, nil
	}
	for {
		pe, failing := l.state()
		if pe != nil {
			if d := pe.Until.Sub(l.now()); d > l.p.maxWait || pe.NoAnswer {
				return nil, pe
			} else if err := sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		if !failing {
			return func() {}, nil
		}
		select {
		case l.probe <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.check() == nil {
			return func() { <-l.probe }, nil
		}
		<-l.probe // paused again while we waited for the probe slot
	}
}

// check returns why the registry is paused, nil when it is not.
func (l *limiter) check() *pauseError {
	if l.calm.Load() {
		return nil
	}
	pe, _ := l.state()
	return pe
}

// state returns why the registry is paused (nil when it is not) and whether its last
// answers were failures.
func (l *limiter) state() (*pauseError, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pe := l.pausedLocked()
	if pe == nil && l.failures == 0 && (l.remaining < 0 || l.remaining > l.p.reserve) {
		l.calm.Store(true)
	}
	return pe, l.failures > 0
}

func (l *limiter) pausedLocked() *pauseError {
	now := l.now()
	if now.Before(l.until) && l.missed != "" {
		return &pauseError{Until: l.until, NoAnswer: true, Reason: l.missed}
	}
	if now.Before(l.until) {
		return &pauseError{Until: l.until, Cause: l.cause,
			Reason: l.registry + " is backing off after " + strconv.Itoa(l.cause)}
	}
	if u, ok := l.budgetPause(); ok && now.Before(u) {
		return &pauseError{Until: u, Budget: true, Reason: l.registry + " rate-limit budget at reserve (" +
			strconv.Itoa(l.remaining) + " of " + strconv.Itoa(l.limit) + " left)"}
	}
	return nil
}

// budgetPause is when the next probe may go out while remaining is at the reserve.
// Caller holds mu.
func (l *limiter) budgetPause() (time.Time, bool) {
	if l.remaining < 0 || l.remaining > l.p.reserve {
		return time.Time{}, false
	}
	d := l.p.recheck
	if l.window > 0 && l.window < d {
		d = l.window
	}
	return l.seen.Add(d), true
}

// observe reads an answer: rate-limit headers, and for a 429/5xx a new pause. It
// reports whether the answer was such a failure.
func (l *limiter) observe(start time.Time, resp *http.Response, err error) bool {
	if err != nil {
		return false // network failures are classified by the caller, not paused on
	}
	s := resp.StatusCode
	if l.calm.Load() && s != http.StatusTooManyRequests && s < 500 && resp.Header.Get("Ratelimit-Remaining") == "" {
		return false // nothing to record, no streak to end
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if rem, w, ok := parseRateLimit(resp.Header.Get("Ratelimit-Remaining")); ok {
		l.remaining, l.seen = rem, now
		if w > 0 {
			l.window = w
		}
		if lim, _, ok := parseRateLimit(resp.Header.Get("Ratelimit-Limit")); ok {
			l.limit = lim
		}
		if rem <= l.p.reserve {
			l.calm.Store(false)
		}
	}
	if s != http.StatusTooManyRequests && s < 500 {
		// Only an answer to a request sent after the last failure says the registry
		// has recovered; one that was already in flight says nothing.
		if l.failures > 0 && start.After(l.failedAt) {
			l.failures = 0
		}
		return false
	}
	l.cause, l.missed = s, ""
	ra, _ := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	l.failLocked(now, ra)
	return true
}

// noAnswer pauses the registry, as a 5xx does but for at least the deadline it let
// pass, after a request sent at start got no answer in time: the requests behind it
// fail at once instead of each waiting out its own deadline (admit does not wait for
// such a pause). A request that was already in flight when the registry last failed
// does not lengthen the pause.
func (l *limiter) noAnswer(start time.Time, err *noAnswerError) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures > 0 && !start.After(l.failedAt) {
		return
	}
	l.cause, l.missed = 0, err.Error()
	l.failLocked(now, err.After)
}

// failLocked counts a failure and pauses the registry for the backoff, or for atLeast
// (a Retry-After, a deadline) when longer. Caller holds mu.
func (l *limiter) failLocked(now time.Time, atLeast time.Duration) {
	l.calm.Store(false)
	l.failures++
	l.failedAt = now
	d := jitter(l.p.backoffBase << min(l.failures-1, 20))
	if d > l.p.backoffMax {
		d = jitter(l.p.backoffMax)
	}
	d = max(d, atLeast)
	if u := now.Add(d); u.After(l.until) {
		l.until = u
	}
}

func (l *limiter) pause(status int, text string) *pauseError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &pauseError{Status: status, Cause: status, Until: l.until, Reason: l.registry + " answered " + text}
}

func (l *limiter) budget() Budget {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := Budget{Registry: l.registry, Remaining: l.remaining, Limit: l.limit, Window: l.window,
		Seen: l.seen, Failures: l.failures}
	if l.window > 0 && !l.seen.IsZero() {
		b.Reset = l.seen.Add(l.window)
	}
	now := l.now()
	if now.Before(l.until) {
		b.PausedUntil = l.until
	}
	if u, ok := l.budgetPause(); ok && now.Before(u) && u.After(b.PausedUntil) {
		b.PausedUntil = u
	}
	return b
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// parseRateLimit reads Docker Hub's "100;w=21600" form (a bare "100" too).
func parseRateLimit(v string) (n int, window time.Duration, ok bool) {
	if v == "" {
		return 0, 0, false
	}
	parts := strings.Split(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	for _, p := range parts[1:] {
		if k, val, found := strings.Cut(strings.TrimSpace(p), "="); found && k == "w" {
			if s, err := strconv.Atoi(val); err == nil && s > 0 {
				window = time.Duration(s) * time.Second
			}
		}
	}
	return n, window, true
}

// maxRetryAfter caps what a registry can ask for, so a bogus header cannot stop
// polling for days.
const maxRetryAfter = 6 * time.Hour

// parseRetryAfter reads Retry-After in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
