package swarm

import (
	"context"

	"github.com/hoist-dev/hoist/updater"
)

// Progress counts w's tasks that run image, of those Swarm wants running (the
// dashboard's "rolling out n/m").
func (b *Backend) Progress(ctx context.Context, w updater.Workload, image string) (done, want int, err error) {
	id := w.ID
	if id == "" {
		id = w.Name
	}
	svc, err := b.inspect(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	ts, err := b.tasks(ctx, svc.ID)
	if err != nil {
		return 0, 0, err
	}
	c := converged(svc.Spec, ts, image)
	return c.running, c.want, nil
}

var _ updater.Progresser = (*Backend)(nil)
