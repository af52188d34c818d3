package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
)

// A container started with --network container:<x> (compose's network_mode:
// service:x) lives in x's network namespace, which goes with x's container: once x is
// replaced, it has no network left. So a swap, once its replacement holds the name,
// replaces each such container onto the replacement's namespace: on the image the
// rollout brings when it is part of the same rollout (a member), else on the very image
// it runs (a follower). Each is a swap of its own — same names, labels, health gate —
// and is reverted with the swap it followed.

// followers replaces the containers that shared the old container's network namespace
// onto the replacement's.
func (s *swap) followers(ctx, gate context.Context) error {
	ns := container.NetworkMode("container:" + s.newID)
	done := map[string]bool{}
	for _, m := range s.members {
		done[m.old.ID] = true
		m.netMode = ns
		s.deps = append(s.deps, m)
		if err := m.replace(ctx, gate); err != nil {
			return err
		}
	}
	ds, err := s.b.dependents(ctx, s.old.ID, s.name)
	if err != nil {
		return err
	}
	for _, d := range ds {
		name := strings.TrimPrefix(d.Name, "/")
		switch {
		case done[d.ID] || reserved(name):
			continue
		case !running(d):
			s.log.Warn().Str("dependent", name).Msg("a stopped container shares the old container's network namespace; it is left as it is (recreate it to start it again)")
			continue
		}
		p := s.plan
		p.KeepPrevious, p.HTTPProbe = 0, nil
		f := s.b.newSwap(d, s.b.sameImage(ctx, d), p, s.b.log.With().Str("follows", s.name).Logger())
		f.follow, f.netMode = true, ns
		s.deps = append(s.deps, f)
		s.log.Info().Str("dependent", name).Msg("recreating a container that shares the replaced one's network namespace")
		if err := f.replace(ctx, gate); err != nil {
			return fmt.Errorf("recreate %s onto %s's new network namespace: %w", name, s.name, err)
		}
	}
	return nil
}

// revertFollowers brings back the containers that followed the swap, once its old
// container is back, and restarts any other container still in the old container's
// namespace: a stopped and restarted container gets a new one.
func (s *swap) revertFollowers(ctx context.Context) error {
	var errs []error
	back := map[string]bool{}
	for i := len(s.deps) - 1; i >= 0; i-- {
		d := s.deps[i]
		restarted := d.oldStopped // revert starts it again, in the namespace now there
		if err := d.revert(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		back[d.old.ID] = restarted
	}
	s.deps = nil
	if !s.oldStopped {
		return errors.Join(errs...)
	}
	if c, err := s.b.inspect(ctx, s.old.ID); err != nil || !running(c) {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, s.b.rejoin(ctx, s.old.ID, s.name, back))
	s.oldStopped = false
	return errors.Join(errs...)
}

// rejoin restarts the running containers in oldID's namespace (but those in skip), so
// that they join the namespace it got when it started again.
func (b *Backend) rejoin(ctx context.Context, oldID, name string, skip map[string]bool) error {
	ds, err := b.dependents(ctx, oldID, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ds {
		if skip[d.ID] || !running(d) {
			continue
		}
		b.log.Info().Str("container", strings.TrimPrefix(d.Name, "/")).Msg("restarting a container that shares the namespace of one brought back")
		if _, err := b.c.ContainerRestart(ctx, d.ID, client.ContainerRestartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("restart container %.12s: %w", d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// dependents are the containers whose network mode is the container oldID (by ID, or
// by name, the container's original name).
func (b *Backend) dependents(ctx context.Context, oldID, name string) ([]container.InspectResponse, error) {
	r, err := b.c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []container.InspectResponse
	for _, c := range r.Items {
		m := c.HostConfig.NetworkMode
		if c.ID == oldID || (m != "container:"+oldID && m != "container:"+name) {
			continue
		}
		d, err := b.inspect(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// sameImage is the image string that recreates c on the very image it runs: its own
// when that still names the same image on this engine, else the image pinned by its
// registry digest (or its ID).
func (b *Backend) sameImage(ctx context.Context, c container.InspectResponse) string {
	if img, err := b.c.ImageInspect(ctx, c.Config.Image); err == nil && img.ID == c.Image {
		return c.Config.Image
	}
	return b.previousRef(ctx, c)
}

// refollow is followers for a swap completed outside a rollout (Recover, Resume, a
// manual rollback of a kept container): the containers still in the old container's
// namespace move to cur's, and each move is finished at once. A failure is logged and
// that one move undone: the swap itself is done.
func (s *swap) refollow(ctx context.Context, cur container.InspectResponse) {
	s.newID, s.plan = cur.ID, updater.Plan{StartFirst: true}
	ferr := s.followers(ctx, ctx)
	err := ferr
	for i, d := range s.deps {
		if ferr != nil && i == len(s.deps)-1 {
			err = errors.Join(err, d.revert(ctx)) // the one that failed
		} else {
			err = errors.Join(err, d.finish(ctx))
		}
	}
	s.deps = nil
	if err != nil {
		s.log.Error().Err(err).Msg("recreating the containers that shared the old container's network namespace")
	}
}
