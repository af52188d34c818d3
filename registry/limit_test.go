package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in     string
		n      int
		window time.Duration
		ok     bool
	}{
		{"100;w=21600", 100, 6 * time.Hour, true},
		{"76;w=21600", 76, 6 * time.Hour, true},
		{" 5 ", 5, 0, true},
		{"", 0, 0, false},
		{"x;w=1", 0, 0, false},
		{"-1", 0, 0, false},
	} {
		n, w, ok := parseRateLimit(tc.in)
		if n != tc.n || w != tc.window || ok != tc.ok {
			t.Errorf("parseRateLimit(%q) = %d, %v, %v; want %d, %v, %v", tc.in, n, w, ok, tc.n, tc.window, tc.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in string
		d  time.Duration
		ok bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"999999999", maxRetryAfter, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		d, ok := parseRetryAfter(tc.in, now)
		if d != tc.d || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, d, ok, tc.d, tc.ok)
		}
	}
}

// pushRepos pushes one tiny image as r0..r(n-1):v1 and returns the references.
func pushRepos(t *testing.T, tr *testRegistry, n int) []name.Reference {
	t.Helper()
	img := tinyImage(t)
	var refs []name.Reference
	for i := range n {
		tr.push(t, fmt.Sprintf("r%02d:v1", i), img)
		refs = append(refs, tr.ref(t, fmt.Sprintf("r%02d:v1", i)))
	}
	return refs
}

func isManifest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }

func TestBudgetStopsAtReserve(t *testing.T) {
	var left atomic.Int64
	left.Store(15)
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if isManifest(r) {
				w.Header().Set("ratelimit-limit", "100;w=21600")
				w.Header().Set("ratelimit-remaining", fmt.Sprintf("%d;w=21600", left.Add(-1)))
			}
			return false
		}
	})
	refs := pushRepos(t, tr, 20)
	c := newTestClient(Options{RateLimitReserve: 10})
	start := time.Now()
	got := c.ResolveMany(context.Background(), refs, 1)
	var ok, skipped int
	for k, r := range got {
		switch {
		case r.Err == nil:
			ok++
		case IsRetryable(r.Err) && errors.Is(r.Err, ErrRateLimited):
			skipped++
			var e *Error
			errors.As(r.Err, &e)
			if e.RetryAfter.Before(start.Add(9 * time.Minute)) {
				t.Errorf("%s: RetryAfter %v, want about 10 minutes from now", k, e.RetryAfter)
			}
		default:
			t.Errorf("%s: unexpected error %v", k, r.Err)
		}
	}
	if ok != 5 || skipped != 15 || tr.head.Load() != 5 || tr.get.Load() != 0 {
		t.Errorf("ok %d, skipped %d, requests %s; want 5 HEADs until 10 are left, 15 skipped, no GET", ok, skipped, tr.counts())
	}
	b := c.Budget()
	if len(b) != 1 || b[0].Registry != tr.host || b[0].Remaining != 10 || b[0].Limit != 100 ||
		b[0].Window != 6*time.Hour || b[0].PausedUntil.IsZero() || b[0].Reset.Sub(start) < 5*time.Hour {
		t.Errorf("Budget() = %+v", b)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var n atomic.Int64
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if isManifest(r) && n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}
	})
	refs := pushRepos(t, tr, 1)
	c := newTestClient(Options{Backoff: 10 * time.Millisecond})
	start := time.Now()
	d, err := c.Resolve(context.Background(), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %v; Retry-After asked for 1s", el)
	}
	if d.Digest.Hex == "" || tr.head.Load() != 2 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want 2 HEADs (429, then success), no GET", tr.counts())
	}
}

func TestRateLimitedNoStorm(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if isManifest(r) {
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}
	})
	refs := pushRepos(t, tr, 30)
	c := newTestClient(Options{MaxRetryWait: time.Second})
	start := time.Now()
	got := c.ResolveMany(context.Background(), refs, 4)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cycle took %v; a long Retry-After should fail fast", el)
	}
	for k, r := range got {
		var e *Error
		if !errors.As(r.Err, &e) || !e.Retryable || !errors.Is(r.Err, ErrRateLimited) ||
			e.RetryAfter.Sub(start) < 55*time.Second {
			t.Errorf("%s: %#v; want a retryable rate-limit error with RetryAfter in about 60s", k, r.Err)
		}
	}
	if h := tr.head.Load(); h > 4 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want at most one HEAD per worker, no GET", tr.counts())
	}
	b := c.Budget()
	if len(b) != 1 || b[0].PausedUntil.Sub(start) < 55*time.Second || b[0].Failures == 0 {
		t.Errorf("Budget() = %+v; want paused about 60s", b)
	}
}

func TestServerErrorsBackOffWithJitter(t *testing.T) {
	var n atomic.Int64
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if isManifest(r) && n.Add(1) <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}
	})
	refs := pushRepos(t, tr, 8)
	c := newTestClient(Options{Backoff: 50 * time.Millisecond})
	start := time.Now()
	for k, r := range c.ResolveMany(context.Background(), refs, 4) {
		if r.Err != nil {
			t.Errorf("%s: %v", k, r.Err)
		}
	}
	if el := time.Since(start); el < 25*time.Millisecond {
		t.Errorf("cycle took %v; want a backoff of at least 25ms", el)
	}
	if tr.head.Load() != 10 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want 10 HEADs (8 + 2 retried), no GET", tr.counts())
	}
	if b := c.Budget(); b[0].Failures != 0 {
		t.Errorf("Budget() = %+v; want failures reset after success", b)
	}
}

func TestPersistentServerErrorsGiveUp(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if isManifest(r) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}
	})
	refs := pushRepos(t, tr, 20)
	c := newTestClient(Options{Backoff: 100 * time.Millisecond, MaxRetryWait: 300 * time.Millisecond})
	start := time.Now()
	got := c.ResolveMany(context.Background(), refs, 4)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("cycle took %v", el)
	}
	for k, r := range got {
		var e *Error
		if !errors.As(r.Err, &e) || !e.Retryable || errors.Is(r.Err, ErrRateLimited) {
			t.Errorf("%s: %v; want retryable, not rate-limited", k, r.Err)
		}
	}
	if h := tr.head.Load(); h > 8 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want a few probes, not a retry per ref, no GET", tr.counts())
	}
}
