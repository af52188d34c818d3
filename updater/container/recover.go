package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"
)

// Recover finds swaps a previous hoist left half-done (it was killed mid-rollout) and
// completes or reverses each, from the names and labels alone:
//
//   - <name>-hoist-old exists and <name> is its healthy replacement: complete (the old
//     one is stopped and kept as <name>-hoist-prev).
//   - <name>-hoist-old exists otherwise: reverse (replacement removed, old one renamed
//     back and started).
//   - <name>-hoist-next exists: it is a replacement not yet proven, or the current
//     container moved away by a manual rollback. If <name> exists it wins and the other
//     is removed; otherwise <name>-hoist-next takes the name back.
//   - <name>-hoist-superseded goes back to <name>-hoist-prev, or away if that is taken.
//
// Call it once at start-up, before any rollout.
func (b *Backend) Recover(ctx context.Context, log zerolog.Logger) error {
	return b.recoverAll(ctx, log, func(string) bool { return false })
}

// recoverAll is Recover for every half-done swap except those taken says another path
// takes care of.
func (b *Backend) recoverAll(ctx context.Context, log zerolog.Logger, taken func(base string) bool) error {
	r, err := b.c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	bases := map[string]bool{}
	for _, s := range r.Items {
		if len(s.Names) == 0 {
			continue
		}
		n := strings.TrimPrefix(s.Names[0], "/")
		for _, suf := range []string{suffixOld, suffixNext, suffixSuperseded} {
			if base, ok := strings.CutSuffix(n, suf); ok && b.inScope(base, s.Labels) {
				bases[base] = true
			}
		}
	}
	var errs []error
	for base := range bases {
		if taken(base) {
			continue
		}
		l := log.With().Str("container", base).Logger()
		if err := b.recoverOne(ctx, base, l); err != nil {
			l.Error().Err(err).Msg("recovery failed")
			errs = append(errs, fmt.Errorf("recover %s: %w", base, err))
		}
	}
	return errors.Join(errs...)
}

func (b *Backend) recoverOne(ctx context.Context, name string, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.recoverWait+b.grace)
	defer cancel()
	find := func(suffix string) (container.InspectResponse, bool, error) { return b.lookup(ctx, name+suffix) }
	old, hasOld, err := find(suffixOld)
	if err != nil {
		return err
	}
	next, hasNext, err := find(suffixNext)
	if err != nil {
		return err
	}
	cur, hasCur, err := find("")
	if err != nil {
		return err
	}
	switch {
	case hasOld && hasCur && cur.Config.Labels[LabelSwapOf] == old.ID:
		if b.provenHealthy(ctx, cur) {
			log.Info().Msg("half-done swap: replacement healthy, completing")
			s := &swap{b: b, log: log, old: old, name: name, keep: keepOf(cur)}
			if err := b.stop(ctx, old.ID); err != nil {
				return err
			}
			s.refollow(ctx, cur)
			if err := s.finish(ctx); err != nil {
				return err
			}
		} else {
			log.Info().Msg("half-done swap: replacement not healthy, reversing")
			if err := b.reverse(ctx, name, old.ID, cur.ID); err != nil {
				return err
			}
		}
		if hasNext && next.Config.Labels[LabelSwapName] == name {
			return b.remove(ctx, next.ID)
		}
	case hasOld && !hasCur:
		newID := ""
		if hasNext && next.Config.Labels[LabelSwapOf] == old.ID {
			newID = next.ID
		}
		log.Info().Msg("half-done swap: name free, reversing")
		if err := b.reverse(ctx, name, old.ID, newID); err != nil {
			return err
		}
	case hasOld:
		log.Warn().Str("old_id", old.ID[:12]).Msg("half-done swap: the name is held by an unrelated container; leaving both")
	case hasNext && hasCur:
		log.Info().Msg("half-done swap or rollback: keeping the named container, removing the other")
		if err := b.remove(ctx, next.ID); err != nil {
			return err
		}
		if !running(cur) {
			if err := b.start(ctx, cur.ID); err != nil {
				return err
			}
		}
	case hasNext:
		log.Info().Msg("half-done rollback: current container takes its name back")
		if err := b.rename(ctx, next.ID, name); err != nil {
			return err
		}
		if err := b.start(ctx, next.ID); err != nil {
			return err
		}
	}
	return b.recoverSuperseded(ctx, name, log)
}

// reverse removes a replacement (newID may be empty) and brings old back under name.
func (b *Backend) reverse(ctx context.Context, name, oldID, newID string) error {
	if newID != "" {
		if err := b.remove(ctx, newID); err != nil {
			return err
		}
	}
	if err := b.rename(ctx, oldID, name); err != nil {
		return err
	}
	if err := b.start(ctx, oldID); err != nil {
		return err
	}
	// Containers in its network namespace lost it when it stopped (follow.go).
	return b.rejoin(ctx, oldID, name, nil)
}

// recoverSuperseded puts an earlier kept previous back, unless a newer one took its place.
func (b *Backend) recoverSuperseded(ctx context.Context, name string, log zerolog.Logger) error {
	sup, ok, err := b.lookup(ctx, name+suffixSuperseded)
	if err != nil || !ok {
		return err
	}
	if _, taken, err := b.lookup(ctx, name+suffixPrev); err != nil {
		return err
	} else if taken {
		log.Info().Msg("superseded previous container removed")
		return b.remove(ctx, sup.ID)
	}
	log.Info().Msg("superseded previous container kept again")
	return b.rename(ctx, sup.ID, name+suffixPrev)
}

// provenHealthy waits up to the recover wait for a replacement's verdict.
func (b *Backend) provenHealthy(ctx context.Context, c container.InspectResponse) bool {
	if !running(c) {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, b.recoverWait)
	defer cancel()
	_, err := b.waitHealthy(wctx, c.ID, nil)
	return err == nil
}

// keepOf tells from its label whether the replacement's previous is to be kept.
func keepOf(c container.InspectResponse) (keep time.Duration) {
	if c.Config.Labels[LabelPreviousExpires] != "" {
		return 1
	}
	return 0
}
