package registry

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SamePlatforms compares two digests of repo (typically the one a service runs and the
// one its tag now points at) platform by platform. same is true when, for every
// platform asked for, the new digest's manifest is the old one's: the index changed
// (another platform was rebuilt, an attestation was added) but nothing this host or
// swarm runs did. missing lists the platforms the new digest does not provide; they
// make same false. No platforms means the host's own, linux/GOARCH.
//
// It GETs both manifests by digest, which registries may count as pulls, so it is only
// meant for a digest that changed; answers are remembered (digests are immutable).
func (c *Client) SamePlatforms(ctx context.Context, repo name.Repository, oldDigest, newDigest v1.Hash, platforms []v1.Platform) (same bool, missing []v1.Platform, err error) {
	if len(platforms) == 0 {
		platforms = []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}}
	}
	olds, err := c.platformManifests(ctx, repo, oldDigest)
	if err != nil {
		return false, nil, err
	}
	news, err := c.platformManifests(ctx, repo, newDigest)
	if err != nil {
		return false, nil, err
	}
	same = true
	for _, p := range platforms {
		nd, ok := pick(news, p)
		if !ok {
			missing = append(missing, p)
			same = false
			continue
		}
		if od, ok := pick(olds, p); !ok || od != nd {
			same = false
		}
	}
	return same, missing, nil
}

// platformManifest is one runnable manifest of an index (or a lone image).
type platformManifest struct {
	platform v1.Platform
	digest   v1.Hash
}

func pick(ms []platformManifest, want v1.Platform) (v1.Hash, bool) {
	for _, m := range ms {
		if m.platform.Satisfies(want) {
			return m.digest, true
		}
	}
	return v1.Hash{}, false
}

// platformManifests lists the per-platform manifests of digest: the entries of an
// index, or the image itself with the platform of its config.
func (c *Client) platformManifests(ctx context.Context, repo name.Repository, digest v1.Hash) ([]platformManifest, error) {
	if ms, ok := c.indexes.get(digest); ok {
		return ms, nil
	}
	ref := repo.Digest(digest.String())
	h, t, err := c.transport(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	if err := h.acquire(ctx); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, classify(err))
	}
	defer h.release()
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(t))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, classify(err))
	}
	var ms []platformManifest
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", ref, classify(err))
		}
		for _, m := range im.Manifests {
			if m.Platform != nil && m.MediaType.IsImage() {
				ms = append(ms, platformManifest{platform: *m.Platform, digest: m.Digest})
			}
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("fetch config of %s: %w", ref, classify(err))
		}
		if p := cf.Platform(); p != nil {
			ms = append(ms, platformManifest{platform: *p, digest: desc.Digest})
		}
	}
	c.indexes.put(digest, ms)
	return ms, nil
}

// indexCache remembers the platform manifests of digests already fetched.
type indexCache struct {
	mu sync.Mutex
	m  map[v1.Hash][]platformManifest
}

const indexCacheSize = 512

func (c *indexCache) get(d v1.Hash) ([]platformManifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms, ok := c.m[d]
	return ms, ok
}

func (c *indexCache) put(d v1.Hash, ms []platformManifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= indexCacheSize {
		c.m = map[v1.Hash][]platformManifest{} // crude, but digests stay cheap to refetch
	}
	c.m[d] = ms
}
