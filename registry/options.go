package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteOptions returns the ggcr options for reading repo through this client's
// pinged, authenticated and rate-limited transport, for packages that read more than
// digests (signatures). The options carry ctx.
func (c *Client) RemoteOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	_, t, err := c.transport(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(t)}, nil
}

// Classify marks an error from a request made with RemoteOptions as retryable or not,
// as the client's own requests are (see IsRetryable).
func Classify(err error) error { return classify(err) }
