package registry

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Credential is a username and password for one registry host.
type Credential struct {
	Host     string
	Username string
	Password string
	Insecure bool
	// Timeout bounds each request to this registry; 0 means Options.RequestTimeout.
	Timeout time.Duration
}

// String prints the credential without its password, so that %v, %+v and %#v of a
// Credential or of Options never show it.
func (c Credential) String() string {
	pw := ""
	if c.Password != "" {
		pw = "<secret>"
	}
	return fmt.Sprintf("{Host:%s Username:%s Password:%s Insecure:%t Timeout:%s}", c.Host, c.Username, pw, c.Insecure, c.Timeout)
}

// GoString masks the password for %#v.
func (c Credential) GoString() string { return "registry.Credential" + c.String() }

// Client resolves and lists tags. Build one per process: it pings each registry once,
// keeps one authenticated transport per registry (or per repository when the registry
// hands out Bearer tokens) so a digest check is a single HEAD, and tracks each
// registry's rate-limit budget.
type Client struct {
	keychain    authn.Keychain
	insecure    map[string]bool
	base        http.RoundTripper
	policy      limitPolicy
	perRegistry int
	tokenTTL    time.Duration
	pingTTL     time.Duration
	timeout     time.Duration            // per request
	timeouts    map[string]time.Duration // per request, by registry, where configured

	mu    sync.Mutex
	hosts map[string]*host // by registry

	tags    tagCache
	indexes indexCache
}

// Options configure a Client. Zero values mean the defaults.
type Options struct {
	Credentials []Credential
	// Keychain is consulted after Credentials; nil means the Docker config keychain
	// (~/.docker/config.json and credential helpers).
	Keychain authn.Keychain
	// Transport is the base transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper

	// MaxPerRegistry bounds requests in flight to one registry (default 16).
	MaxPerRegistry int
	// RateLimitReserve: when a registry's ratelimit-remaining header drops to this, hoist
	// stops sending it requests until RateLimitRecheck has passed (default 10; negative
	// means 0: only stop when nothing is left).
	RateLimitReserve int
	// RateLimitRecheck is how long a budget pause lasts before one probe (default 10m,
	// at most the header's window).
	RateLimitRecheck time.Duration
	// Backoff is the first pause after a 429 or 5xx (default 1s); it doubles with each
	// failure in a row, with jitter, up to BackoffMax (default 5m). A longer Retry-After
	// wins.
	Backoff, BackoffMax time.Duration
	// MaxRetryWait is the longest one request waits for a pause before it fails with a
	// retryable error (default 10s).
	MaxRetryWait time.Duration
	// Retries of one request after a 429 or 5xx (default 2; negative means none).
	Retries int
	// TokenTTL is how long a repository's Bearer token is kept when the registry does
	// not say (default 60s, the distribution spec's default).
	TokenTTL time.Duration
	// PingTTL is how long a registry's ping answer is reused (default 1h).
	PingTTL time.Duration
	// RequestTimeout bounds each request to a registry (ping, token, HEAD, tag list
	// page, manifest GET), answer and body included (default DefaultRequestTimeout);
	// a Credential's Timeout overrides it for its host. A request that hits it fails
	// with a retryable error naming the registry, and the registry is paused as after
	// a 5xx, except that nobody waits for that pause: requests fail at once until it
	// ends.
	RequestTimeout time.Duration
}

// New builds a Client.
func New(o Options) *Client {
	c := &Client{
		insecure: map[string]bool{}, hosts: map[string]*host{}, base: o.Transport,
		perRegistry: or(o.MaxPerRegistry, 16),
		tokenTTL:    or(o.TokenTTL, 60*time.Second),
		pingTTL:     or(o.PingTTL, time.Hour),
		timeout:     or(o.RequestTimeout, DefaultRequestTimeout),
		timeouts:    map[string]time.Duration{},
		policy: limitPolicy{
			reserve:     or(o.RateLimitReserve, 10),
			recheck:     or(o.RateLimitRecheck, 10*time.Minute),
			backoffBase: or(o.Backoff, time.Second),
			backoffMax:  or(o.BackoffMax, 5*time.Minute),
			maxWait:     or(o.MaxRetryWait, 10*time.Second),
			retries:     or(o.Retries, 2),
		},
	}
	c.policy.reserve = max(c.policy.reserve, 0)
	c.policy.retries = max(c.policy.retries, 0)
	if c.timeout < 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.base == nil {
		c.base = remote.DefaultTransport
	}
	static := staticKeychain{}
	for _, cr := range o.Credentials {
		if cr.Insecure {
			c.insecure[cr.Host] = true
		}
		if cr.Timeout > 0 {
			c.timeouts[cr.Host] = cr.Timeout
		}
		if cr.Username != "" {
			static[cr.Host] = &authn.Basic{Username: cr.Username, Password: cr.Password}
		}
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	c.keychain = authn.NewMultiKeychain(static, kc)
	return c
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ParseReference parses an image reference, honouring hosts configured as insecure.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("parse image %q: %w", s, err)
	}
	if c.insecure[ref.Context().RegistryStr()] {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// Authenticator returns the credentials hoist uses for a registry, for handing to
// Swarm workers.
func (c *Client) Authenticator(ctx context.Context, repo name.Repository) (authn.Authenticator, error) {
	return authn.Resolve(ctx, c.keychain, repo)
}

// transport returns a pinged, authenticated transport for repo.
func (c *Client) transport(ctx context.Context, repo name.Repository) (*host, http.RoundTripper, error) {
	h := c.host(repo.Registry)
	t, err := h.transport(ctx, c.keychain, repo)
	if err != nil {
		return h, nil, classify(err)
	}
	return h, t, nil
}

// Resolve returns the digest the registry serves for ref now, using one HEAD request
// (with the index and manifest media types). For a multi-arch tag this is the index
// digest, the same one Swarm pins. It never falls back to a GET: a failed HEAD is an
// error (retryable or not, see IsRetryable).
func (c *Client) Resolve(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	return c.resolve(ctx, c.host(ref.Context().Registry), ref)
}

// resolve is Resolve on the registry's host h.
func (c *Client) resolve(ctx context.Context, h *host, ref name.Reference) (v1.Descriptor, error) {
	repo := ref.Context()
	if err := h.acquire(ctx); err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	defer h.release()
	if pe := h.lim.check(); pe != nil && (pe.NoAnswer || time.Until(pe.Until) > c.policy.maxWait) {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", ref, classify(pe)) // skipped: no request
	}
	e, err := h.entry(ctx, c.keychain, repo)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	d, err := h.head(ctx, e, ref)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	return d, nil
}

// Budget returns what hoist knows of each registry's rate limit and backoff, sorted by
// registry.
func (c *Client) Budget() []Budget {
	c.mu.Lock()
	hs := make([]*host, 0, len(c.hosts))
	for _, h := range c.hosts {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	out := make([]Budget, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.lim.budget())
	}
	slices.SortFunc(out, func(x, y Budget) int { return cmp.Compare(x.Registry, y.Registry) })
	return out
}

type staticKeychain map[string]authn.Authenticator

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[r.RegistryStr()]; ok {
		return a, nil
	}
	return authn.Anonymous, nil
}
