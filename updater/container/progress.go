package container

import (
	"context"

	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// Progress says whether the container named w.Name runs image: 1/1 once the swap put
// the replacement in its place, 0/1 before.
func (b *Backend) Progress(ctx context.Context, w updater.Workload, image string) (done, want int, err error) {
	id := w.ID
	if id == "" {
		id = w.Name
	}
	c, err := b.inspect(ctx, id)
	if err != nil {
		return 0, 1, err
	}
	digest := registry.DigestOf(image)
	if running(c) && (c.Config.Image == image || digest != "" && b.repoDigest(ctx, c.Image, c.Config.Image) == digest) {
		return 1, 1, nil
	}
	return 0, 1, nil
}

var _ updater.Progresser = (*Backend)(nil)
