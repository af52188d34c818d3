package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
)

// previous finds the container kept when w was last replaced; c is w's container.
func (b *Backend) previous(ctx context.Context, w updater.Workload) (c container.InspectResponse, prevID string, err error) {
	id := w.ID
	if id == "" {
		id = w.Name
	}
	c, err = b.inspect(ctx, id)
	if err != nil {
		return c, "", err
	}
	name := strings.TrimPrefix(c.Name, "/")
	p, ok, err := b.lookup(ctx, name+suffixPrev)
	if err != nil {
		return c, "", err
	}
	if !ok || p.ID != c.Config.Labels[LabelSwapOf] {
		return c, "", fmt.Errorf("container %s: %w", name, errNoPrevious)
	}
	return c, p.ID, nil
}

// Rollback brings back what ran before w's last replacement. A compose member keeps no
// container: it is swapped, as a rollout would, onto the image its label names, and
// ends as one container under its name. Otherwise the container kept is brought back:
// the current one is stopped and moved away, the previous one takes the name and
// starts, and once it is healthy the current one is removed. If what comes back fails,
// w comes back.
func (b *Backend) Rollback(ctx context.Context, w updater.Workload) error {
	if err := b.refuseSelf(ctx, w); err != nil { // hoist's own container (self.go)
		return err
	}
	c, prevID, err := b.previous(ctx, w)
	if errors.Is(err, errNoPrevious) {
		if img := b.previousOf(c.Config.Labels); img != "" {
			return b.rollbackTo(ctx, c, img)
		}
	}
	if err != nil {
		return err
	}
	curID := c.ID
	ctx, cancel := b.graceCtx(ctx) // never stop half-way
	defer cancel()
	cur, err := b.inspect(ctx, curID)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(cur.Name, "/")
	log := b.log.With().Str("container", name).Str("previous_id", prevID[:12]).Logger()
	steps := []func() error{
		func() error { return b.stop(ctx, curID) },
		func() error { return b.rename(ctx, curID, name+suffixNext) },
		func() error { return b.setRestart(ctx, prevID, cur.HostConfig.RestartPolicy) },
		func() error { return b.rename(ctx, prevID, name) },
		func() error { return b.start(ctx, prevID) },
		func() error { _, err := b.waitHealthy(ctx, prevID, nil); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			log.Error().Err(err).Msg("manual rollback failed; restoring the current container")
			return errors.Join(fmt.Errorf("roll back %s: %w", name, err), b.unrollback(ctx, name, curID, prevID, i))
		}
	}
	log.Info().Msg("manual rollback: previous container back")
	var errs []error
	if prev, err := b.inspect(ctx, prevID); err == nil {
		errs = append(errs, b.moveTagBack(ctx, cur, prev))
		// Containers in the current one's network namespace move to the previous one's.
		(&swap{b: b, log: log, old: cur, name: name}).refollow(ctx, prev)
	}
	return errors.Join(append(errs, b.discard(ctx, curID))...)
}

// rollbackTo swaps cur onto image (its previous one) with a rollout's health gate,
// keeping nothing: on failure cur comes back as it was.
func (b *Backend) rollbackTo(ctx context.Context, cur container.InspectResponse, image string) error {
	ctx, cancel := b.graceCtx(ctx) // never stop half-way
	defer cancel()
	if err := b.ensureImage(ctx, image, ""); err != nil {
		return fmt.Errorf("roll back %s: %w", strings.TrimPrefix(cur.Name, "/"), err)
	}
	s := b.newSwap(cur, image, updater.Plan{StartFirst: true}, b.log.With().Str("image", image).Logger())
	s.rollback = true
	s.log.Info().Msg("manual rollback: swapping onto the previous image")
	if err := s.replace(ctx, ctx); err != nil {
		s.log.Error().Err(err).Msg("manual rollback failed; restoring the current container")
		return errors.Join(fmt.Errorf("roll back %s: %w", s.name, err), s.revert(ctx))
	}
	if err := s.finish(ctx); err != nil {
		return fmt.Errorf("roll back %s: cleaning up: %w", s.name, err)
	}
	s.log.Info().Msg("manual rollback: the previous image runs")
	return nil
}

// unrollback undoes the first n steps of a manual rollback.
func (b *Backend) unrollback(ctx context.Context, name, curID, prevID string, n int) error {
	var errs []error
	if n >= 4 {
		errs = append(errs, b.stop(ctx, prevID), b.rename(ctx, prevID, name+suffixPrev))
	}
	if n >= 3 {
		errs = append(errs, b.setRestart(ctx, prevID, noRestart))
	}
	if n >= 2 {
		errs = append(errs, b.rename(ctx, curID, name))
	}
	return errors.Join(append(errs, b.start(ctx, curID))...)
}

// Finish removes the container kept for w's manual rollback. A compose member keeps
// no container, only a label naming its previous image (the engine cannot change a
// container's labels): there is nothing to remove, Finish succeeds and says so, and a
// rollback stays possible until the label's expiry.
func (b *Backend) Finish(ctx context.Context, w updater.Workload) error {
	c, prevID, err := b.previous(ctx, w)
	if errors.Is(err, errNoPrevious) && b.previousOf(c.Config.Labels) != "" {
		b.log.Info().Str("container", w.Name).Str("previous_image", c.Config.Labels[LabelPreviousImage]).
			Msg("nothing to remove: a compose member keeps no previous container, only a label naming its previous image (its image is kept)")
		return nil
	}
	if err != nil {
		return err
	}
	b.log.Info().Str("container", w.Name).Str("previous_id", prevID[:12]).Msg("previous container removed")
	return b.discard(ctx, prevID)
}

// Prune removes kept previous containers whose time is up.
func (b *Backend) Prune(ctx context.Context) error {
	r, err := b.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelPreviousExpires)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, s := range r.Items {
		exp, err := time.Parse(time.RFC3339, s.Labels[LabelPreviousExpires])
		if err != nil || b.now().Before(exp) || len(s.Names) == 0 {
			continue
		}
		name := strings.TrimPrefix(s.Names[0], "/")
		if !b.inScope(name, s.Labels) {
			continue
		}
		p, ok, err := b.lookup(ctx, name+suffixPrev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok || p.ID != s.Labels[LabelSwapOf] || running(p) {
			continue
		}
		b.log.Info().Str("container", name).Str("previous_id", p.ID[:12]).Time("expired", exp).Msg("expired previous container removed")
		errs = append(errs, b.discard(ctx, p.ID))
	}
	return errors.Join(errs...)
}
