package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/registry"
)

// NewRegistry builds the registry client of the registries section.
func NewRegistry(cfg *config.Config) *registry.Client {
	creds := make([]registry.Credential, len(cfg.Registries))
	for i, r := range cfg.Registries {
		creds[i] = registry.Credential{Host: r.Host, Username: r.Username, Password: r.Password.Value(), Insecure: r.Insecure}
		if r.Timeout != nil {
			creds[i].Timeout = r.Timeout.D()
		}
	}
	return registry.New(registry.Options{Credentials: creds, RequestTimeout: config.DefaultRegistryTimeout})
}

// liveRegistry is the registry client in force: a reload that changes the registries
// section swaps in a client built from it. A call in flight finishes on the client it
// started with; the next one uses the new client (credentials, insecure hosts,
// timeouts; its pings, tokens and rate-limit budgets start afresh).
type liveRegistry struct {
	c atomic.Pointer[registry.Client]
}

func newLiveRegistry(c *registry.Client) *liveRegistry {
	l := &liveRegistry{}
	l.c.Store(c)
	return l
}

func (l *liveRegistry) swap(c *registry.Client) { l.c.Store(c) }

func (l *liveRegistry) ParseReference(s string) (name.Reference, error) {
	return l.c.Load().ParseReference(s)
}

func (l *liveRegistry) Resolve(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	return l.c.Load().Resolve(ctx, ref)
}

func (l *liveRegistry) ResolveMany(ctx context.Context, refs []name.Reference, concurrency int) map[string]registry.Resolution {
	return l.c.Load().ResolveMany(ctx, refs, concurrency)
}

func (l *liveRegistry) ListTagsCached(ctx context.Context, repo name.Repository, maxAge time.Duration) ([]string, error) {
	return l.c.Load().ListTagsCached(ctx, repo, maxAge)
}

func (l *liveRegistry) ForgetTags(repo name.Repository) { l.c.Load().ForgetTags(repo) }

func (l *liveRegistry) SamePlatforms(ctx context.Context, repo name.Repository, oldDigest, newDigest v1.Hash, platforms []v1.Platform) (bool, []v1.Platform, error) {
	return l.c.Load().SamePlatforms(ctx, repo, oldDigest, newDigest, platforms)
}

func (l *liveRegistry) Authenticator(ctx context.Context, repo name.Repository) (authn.Authenticator, error) {
	return l.c.Load().Authenticator(ctx, repo)
}

func (l *liveRegistry) Budget() []registry.Budget { return l.c.Load().Budget() }

// RemoteOptions gives the signature reader (verify.Registry) the client in force.
func (l *liveRegistry) RemoteOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	return l.c.Load().RemoteOptions(ctx, repo)
}
