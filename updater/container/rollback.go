package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
)

// previous finds the container kept when w was last replaced.
func (b *Backend) previous(ctx context.Context, w updater.Workload) (cur, prevID string, err error) {
	id := w.ID
	if id == "" {
		id = w.Name
	}
	c, err := b.inspect(ctx, id)
	if err != nil {
		return "", "", err
	}
	name := strings.TrimPrefix(c.Name, "/")
	p, ok, err := b.lookup(ctx, name+suffixPrev)
	if err != nil {
		return "", "", err
	}
	if !ok || p.ID != c.Config.Labels[LabelSwapOf] {
		return "", "", fmt.Errorf("container %s: %w", name, errNoPrevious)
	}
	return c.ID, p.ID, nil
}

// Rollback brings back the container kept when w was last replaced: the current one is
// stopped and moved away, the previous one takes the name and starts, and once it is
// healthy the current one is removed. If the previous one fails, w comes back.
func (b *Backend) Rollback(ctx context.Context, w updater.Workload) error {
	if err := b.refuseSelf(ctx, w); err != nil { // hoist's own container (self.go)
		return err
	}
	curID, prevID, err := b.previous(ctx, w)
	if err != nil {
		return err
	}
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
	return b.discard(ctx, curID)
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

// Finish removes the container kept for w's manual rollback.
func (b *Backend) Finish(ctx context.Context, w updater.Workload) error {
	_, prevID, err := b.previous(ctx, w)
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
