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
// "nginx", "docker.io/library/nginx:latest" and "index.docker.io/library/nginx" are one;
// "localhost:5000/x" and "127.0.0.1:5000/x" are two (hoist cannot know they are the
// same server).
func Canonical(ref name.Reference) string { return ref.Name() }

// ResolveMany resolves every unique reference in refs once (one HEAD each) and returns
// the results by Canonical key. At most concurrency requests are in flight in all, and
// at most Options.MaxPerRegistry to one registry, so a slow or rate-limited registry
// does not hold up the others. References to a registry that is paused (rate-limit
// budget at the reserve, backing off for longer than Options.MaxRetryWait, or after a
// request it did not answer within its deadline) are not sent: they come back with a
// retryable *Error that carries RetryAfter. So a registry that hangs costs the cycle
// about one deadline, not one per reference.
func (c *Client) ResolveMany(ctx context.Context, refs []name.Reference, concurrency int) map[string]Resolution {
	if concurrency < 1 {
		concurrency = 1
	}
	uniq := make(map[string]name.Reference, len(refs))
	byHost := map[string][]string{} // by registry
	for _, r := range refs {
		k := Canonical(r)
		if _, dup := uniq[k]; dup {
			continue
		}
		uniq[k] = r
		reg := r.Context().RegistryStr()
		byHost[reg] = append(byHost[reg], k)
	}
	out := make(map[string]Resolution, len(uniq))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, concurrency)
	for _, keys := range byHost {
		h := c.host(uniq[keys[0]].Context().Registry)
		work := make(chan string, len(keys))
		for _, k := range keys {
			work <- k
		}
		close(work)
		for range min(concurrency, c.perRegistry, len(keys)) {
			wg.Go(func() {
				for k := range work {
					slots <- struct{}{}
					d, err := c.resolve(ctx, h, uniq[k])
					<-slots
					mu.Lock()
					out[k] = Resolution{Desc: d, Err: err}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return out
}
