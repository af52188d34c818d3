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
// same server). It is ref.Name(), built in one allocation instead of two.
func Canonical(ref name.Reference) string {
	switch r := ref.(type) {
	case name.Tag:
		return CanonicalTag(r)
	case *name.Tag:
		return CanonicalTag(*r)
	case name.Digest, *name.Digest:
		repo := ref.Context()
		return repo.RegistryStr() + "/" + repo.RepositoryStr() + "@" + ref.Identifier()
	}
	return ref.Name()
}

// CanonicalTag is Canonical of a tag, for callers that hold a name.Tag: it costs the
// key's one allocation and no boxing into a name.Reference.
func CanonicalTag(t name.Tag) string {
	return t.RegistryStr() + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

// isDigest reports whether ref names a digest rather than a tag.
func isDigest(ref name.Reference) bool {
	switch ref.(type) {
	case name.Digest, *name.Digest:
		return true
	}
	return false
}

// refKey is Canonical's key without building its string: what a cycle compares its
// references by (a poll cycle names most references once per workload).
type refKey struct {
	registry, repository, id string
	digest                   bool
}

func keyOf(ref name.Reference) refKey {
	repo := ref.Context()
	return refKey{repo.RegistryStr(), repo.RepositoryStr(), ref.Identifier(), isDigest(ref)}
}

// ResolveMany resolves every unique reference in refs once (one HEAD each) and returns
// the results by Canonical key. At most concurrency requests are in flight in all, and
// at most Options.MaxPerRegistry to one registry, so a slow or rate-limited registry
// does not hold up the others. References to a registry that is paused (rate-limit
// budget at the reserve, backing off for longer than Options.MaxRetryWait, or after a
// request it did not answer within its deadline) are not sent: they come back with a
// retryable *Error that carries RetryAfter. So a registry that hangs costs the cycle
// about one deadline, not one per reference.
func (c *Client) ResolveMany(ctx context.Context, refs []name.Reference, concurrency int) map[string]Resolution {
	concurrency = max(concurrency, 1)
	seen := make(map[refKey]struct{}, len(refs))
	uniq := make([]name.Reference, 0, len(refs))
	byHost := map[string][]int{} // indexes into uniq, by registry
	for _, r := range refs {
		k := keyOf(r)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		byHost[k.registry] = append(byHost[k.registry], len(uniq))
		uniq = append(uniq, r)
	}
	res := make([]Resolution, len(uniq)) // each written by one worker
	var wg sync.WaitGroup
	// With one registry, its workers (at most concurrency) are the bound in all.
	var slots chan struct{}
	if len(byHost) > 1 {
		slots = make(chan struct{}, concurrency)
	}
	for _, idx := range byHost {
		h := c.host(uniq[idx[0]].Context().Registry)
		work := make(chan int, len(idx))
		for _, i := range idx {
			work <- i
		}
		close(work)
		for range min(concurrency, c.perRegistry, len(idx)) {
			wg.Go(func() {
				for i := range work {
					if slots != nil {
						slots <- struct{}{}
					}
					d, err := c.resolve(ctx, h, uniq[i])
					if slots != nil {
						<-slots
					}
					res[i] = Resolution{Desc: d, Err: err}
				}
			})
		}
	}
	wg.Wait()
	out := make(map[string]Resolution, len(uniq))
	for i, r := range uniq {
		out[Canonical(r)] = res[i]
	}
	return out
}
