package registry

import (
	"context"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Resolution is the outcome of resolving one reference.
type Resolution struct {
	Desc v1.Descriptor
	Err  error
}

// Canonical is the key under which equivalent references are deduplicated:
// "nginx", "docker.io/library/nginx:latest" and "index.docker.io/library/nginx" are one.
func Canonical(ref name.Reference) string { return ref.Name() }

// ResolveMany resolves every unique reference in refs once and returns the results by
// Canonical key.
func (c *Client) ResolveMany(ctx context.Context, refs []name.Reference, concurrency int) map[string]Resolution {
	if concurrency < 1 {
		concurrency = 1
	}
	uniq := map[string]name.Reference{}
	for _, r := range refs {
		uniq[Canonical(r)] = r
	}
	out := make(map[string]Resolution, len(uniq))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for k, r := range uniq {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d, err := c.Resolve(ctx, r)
			mu.Lock()
			out[k] = Resolution{Desc: d, Err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
