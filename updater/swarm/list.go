package swarm

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// List returns every Swarm service that runs containers.
func (b *Backend) List(ctx context.Context) ([]updater.Workload, error) {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	ws := make([]updater.Workload, 0, len(res.Items))
	for _, s := range res.Items {
		if s.Spec.TaskTemplate.ContainerSpec == nil || isCanary(s.Spec) {
			continue // plugin or network-attachment services have no image to follow; a canary is its service's (canary.go)
		}
		ws = append(ws, workload(s))
	}
	return ws, nil
}

func workload(s swarm.Service) updater.Workload {
	w := updater.Workload{
		Kind:        policy.Service,
		ID:          s.ID,
		Name:        s.Spec.Name,
		Image:       specImage(s.Spec),
		Labels:      s.Spec.Labels,
		HasPrevious: s.PreviousSpec != nil,
	}
	if p := s.Spec.TaskTemplate.Placement; p != nil {
		for _, pl := range p.Platforms {
			w.Platforms = append(w.Platforms, v1.Platform{OS: pl.OS, Architecture: pl.Architecture})
		}
	}
	return w
}

// specImage is the image string a spec runs, as Swarm stores it.
func specImage(s swarm.ServiceSpec) string {
	if s.TaskTemplate.ContainerSpec == nil {
		return ""
	}
	return s.TaskTemplate.ContainerSpec.Image
}
