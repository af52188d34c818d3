package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tagCache keeps each repository's last tag list so that semver policies need not
// list every cycle.
type tagCache struct {
	mu   sync.Mutex
	list map[string]tagList // by repository name
}

type tagList struct {
	tags []string
	at   time.Time
}

// ListTags lists every tag of repo, following pagination (Link headers), and
// remembers the list for ListTagsCached.
func (c *Client) ListTags(ctx context.Context, repo name.Repository) ([]string, error) {
	h, t, err := c.transport(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, err)
	}
	if err := h.acquire(ctx); err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, classify(err))
	}
	defer h.release()
	tags, err := remote.List(repo, remote.WithContext(ctx), remote.WithTransport(t))
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, classify(err))
	}
	c.tags.mu.Lock()
	if c.tags.list == nil {
		c.tags.list = map[string]tagList{}
	}
	c.tags.list[repo.Name()] = tagList{tags: tags, at: time.Now()}
	c.tags.mu.Unlock()
	return slices.Clone(tags), nil
}

// ListTagsCached returns repo's tags as listed at most maxAge ago, listing them again
// only when the last list is older (or there is none).
func (c *Client) ListTagsCached(ctx context.Context, repo name.Repository, maxAge time.Duration) ([]string, error) {
	c.tags.mu.Lock()
	l, ok := c.tags.list[repo.Name()]
	c.tags.mu.Unlock()
	if ok && time.Since(l.at) < maxAge {
		return slices.Clone(l.tags), nil
	}
	return c.ListTags(ctx, repo)
}

// ForgetTags drops repo's remembered tag list, for when a push event says it changed.
func (c *Client) ForgetTags(repo name.Repository) {
	c.tags.mu.Lock()
	delete(c.tags.list, repo.Name())
	c.tags.mu.Unlock()
}
