package registry

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credential is a username and password for one registry host.
type Credential struct {
	Host     string
	Username string
	Password string
	Insecure bool
}

// Client resolves and lists tags. Build one per process: it keeps one authenticated,
// already-pinged transport per repository so a digest check is a single HEAD.
type Client struct {
	keychain authn.Keychain
	insecure map[string]bool
	base     http.RoundTripper

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by repository scope
}

// Options configure a Client.
type Options struct {
	Credentials []Credential
	// Keychain is consulted after Credentials; nil means the Docker config keychain
	// (~/.docker/config.json and credential helpers).
	Keychain authn.Keychain
	// Transport is the base transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper
}

// New builds a Client.
func New(o Options) *Client {
	c := &Client{insecure: map[string]bool{}, transports: map[string]http.RoundTripper{}, base: o.Transport}
	if c.base == nil {
		c.base = remote.DefaultTransport
	}
	static := staticKeychain{}
	for _, cr := range o.Credentials {
		if cr.Insecure {
			c.insecure[cr.Host] = true
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

// transport returns a pinged, authenticated transport for repo, built once.
func (c *Client) transport(ctx context.Context, repo name.Repository, scope string) (http.RoundTripper, error) {
	key := repo.Name() + "|" + scope
	c.mu.Lock()
	t, ok := c.transports[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	t, err = transport.NewWithContext(ctx, repo.Registry, auth, c.base, []string{repo.Scope(scope)})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), classify(err))
	}
	c.mu.Lock()
	c.transports[key] = t
	c.mu.Unlock()
	return t, nil
}

// Resolve returns the digest the registry serves for ref now, using one HEAD request
// (with the index and manifest media types). For a multi-arch tag this is the index
// digest, the same one Swarm pins.
func (c *Client) Resolve(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	t, err := c.transport(ctx, ref.Context(), transport.PullScope)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := remote.Head(ref, remote.WithContext(ctx), remote.WithTransport(t))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	return *d, nil
}

// ListTags lists every tag of repo, following pagination.
func (c *Client) ListTags(ctx context.Context, repo name.Repository) ([]string, error) {
	t, err := c.transport(ctx, repo, transport.PullScope)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(repo, remote.WithContext(ctx), remote.WithTransport(t))
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, classify(err))
	}
	return tags, nil
}

type staticKeychain map[string]authn.Authenticator

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[r.RegistryStr()]; ok {
		return a, nil
	}
	return authn.Anonymous, nil
}
