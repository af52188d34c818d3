package container

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The engine calls a swap is made of, each wrapped with what it was doing.

func (b *Backend) rename(ctx context.Context, id, name string) error {
	if _, err := b.c.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: name}); err != nil {
		return fmt.Errorf("rename container %.12s to %s: %w", id, name, err)
	}
	return nil
}

func (b *Backend) start(ctx context.Context, id string) error {
	if err := b.startPastStaleTask(ctx, id); err != nil {
		return fmt.Errorf("start container %.12s: %w", id, err)
	}
	return nil
}

func (b *Backend) stop(ctx context.Context, id string) error {
	if _, err := b.c.ContainerStop(ctx, id, client.ContainerStopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %.12s: %w", id, err)
	}
	return nil
}

// remove force-removes a container and keeps its volumes: a replacement shares them.
func (b *Backend) remove(ctx context.Context, id string) error {
	if _, err := b.c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}

// discard removes a container hoist is done with and, with image pruning, its image
// when no other container uses it. Only the container's removal can fail it.
func (b *Backend) discard(ctx context.Context, id string) error {
	if !b.pruneImages {
		return b.remove(ctx, id)
	}
	img := ""
	if c, err := b.inspect(ctx, id); err == nil {
		img = c.Image
	}
	if err := b.remove(ctx, id); err != nil || img == "" {
		return err
	}
	_, err := b.c.ImageRemove(ctx, img, client.ImageRemoveOptions{PruneChildren: true})
	switch {
	case err == nil:
		b.log.Info().Str("image", img).Msg("image removed: no container uses it")
	case cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err):
		b.log.Debug().Str("image", img).Err(err).Msg("image kept")
	default:
		b.log.Warn().Str("image", img).Err(err).Msg("could not remove an unused image")
	}
	return nil
}

func (b *Backend) setRestart(ctx context.Context, id string, p container.RestartPolicy) error {
	if _, err := b.c.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{RestartPolicy: &p}); err != nil {
		return fmt.Errorf("set restart policy of container %.12s to %s: %w", id, p.Name, err)
	}
	return nil
}

// lookup inspects a container by exact name; ok is false when there is none.
func (b *Backend) lookup(ctx context.Context, name string) (c container.InspectResponse, ok bool, err error) {
	r, err := b.c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("inspect container %s: %w", name, err)
	}
	if r.Container.Name != "/"+name { // the engine also resolves ID prefixes
		return c, false, nil
	}
	return r.Container, true, nil
}

func running(c container.InspectResponse) bool { return c.State != nil && c.State.Running }

var noRestart = container.RestartPolicy{Name: container.RestartPolicyDisabled}
