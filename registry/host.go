package registry

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// host is everything hoist keeps per registry: the limiter (and under it the deadline
// of each request), the remembered ping, the authenticated transports and the
// concurrency bound.
//
// A registry that answers the ping with 200 or a Basic challenge gets one transport for
// all its repositories. One that answers with a Bearer challenge gets one transport per
// repository (one token per pull scope), all built from the one remembered ping.
type host struct {
	reg    name.Registry
	name   string // reg.RegistryStr()
	scheme string // reg.Scheme(), worked out once: ggcr's works it out per request
	lim    *limiter
	memo   *pingMemo // wraps lim: what transport.NewWithContext is given
	sem    chan struct{}
	ttl    time.Duration // default token lifetime

	mu      sync.Mutex
	known   bool                  // the first transport was built: shared or not is known
	probing chan struct{}         // closed when the first build ends
	shared  bool                  // anonymous or basic: one transport for all
	entries map[string]*entry     // by repository ("" when shared)
	all     atomic.Pointer[entry] // the shared entry, once built: read without the lock
}

type entry struct {
	ready chan struct{}
	t     http.RoundTripper
	err   error
	exp   time.Time // zero: never
}

func (c *Client) host(reg name.Registry) *host {
	key := reg.RegistryStr()
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[key]; ok {
		return h
	}
	dl := &deadline{
		registry:     key,
		after:        or(c.timeouts[key], c.timeout),
		inner:        guardFor(c.base, c.insecure, key),
		pingFallback: reg.Scheme() == "http" || c.insecure[key], // ggcr pings it over http too
	}
	lim := newLimiter(key, dl, c.policy)
	dl.expired = lim.noAnswer
	h := &host{reg: reg, name: key, scheme: reg.Scheme(), lim: lim, memo: newPingMemo(lim, c.pingTTL), sem: make(chan struct{}, c.perRegistry),
		ttl: c.tokenTTL, entries: map[string]*entry{}}
	c.hosts[key] = h
	return h
}

// transport returns a pinged, authenticated transport for repo. It pings the registry
// at most once (per ping TTL) and fetches at most one token per repository at a time.
func (h *host) transport(ctx context.Context, kc authn.Keychain, repo name.Repository) (http.RoundTripper, error) {
	e, err := h.entry(ctx, kc, repo)
	if err != nil {
		return nil, err
	}
	return e.t, nil
}

// entry returns the built transport for repo, building it if needed.
func (h *host) entry(ctx context.Context, kc authn.Keychain, repo name.Repository) (*entry, error) {
	if e := h.all.Load(); e != nil {
		return e, nil
	}
	h.mu.Lock()
	// Until the registry has answered once, one caller builds and the others wait, so
	// the ping (and ggcr's https probe of a plain-http registry) happens once.
	for !h.known && h.probing != nil {
		ch := h.probing
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		h.mu.Lock()
	}
	var probe chan struct{}
	if !h.known {
		probe = make(chan struct{})
		h.probing = probe
	}
	key := repo.RepositoryStr()
	if h.shared {
		key = ""
	}
	e := h.entries[key]
	if e != nil && !e.exp.IsZero() && time.Now().After(e.exp) {
		e = nil // token expired: a new one costs one request, a stale one two more
	}
	if e != nil && probe == nil {
		h.mu.Unlock()
		select {
		case <-e.ready:
			return e, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e = &entry{ready: make(chan struct{})}
	h.entries[key] = e
	h.mu.Unlock()

	e.t, e.err = h.build(ctx, kc, repo)

	h.mu.Lock()
	switch {
	case e.err != nil:
		delete(h.entries, key) // the next caller tries again
	case h.memo.isBearer(h.reg):
		h.known = true
		e.exp = time.Now().Add(h.memo.tokenTTL(h.ttl))
	default:
		h.known, h.shared = true, true
		h.entries = map[string]*entry{"": e}
		defer h.all.Store(e) // once e is ready
	}
	if probe != nil {
		h.probing = nil
		close(probe)
	}
	h.mu.Unlock()
	close(e.ready)
	return e, e.err
}

func (h *host) build(ctx context.Context, kc authn.Keychain, repo name.Repository) (http.RoundTripper, error) {
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	t, err := transport.NewWithContext(ctx, h.reg, auth, h.memo, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	return t, nil
}

// acquire takes one of the registry's concurrency slots; release gives it back.
func (h *host) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *host) release() { <-h.sem }
