package container

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/gate"
	"github.com/hoist-dev/hoist/policy"
)

// gateCrossed is a metric gate's reading at or above its threshold during a hold.
type gateCrossed struct{ reason string }

func (e *gateCrossed) Error() string { return "metric gate crossed: " + e.reason }

// gateRetry is how soon a gate that could not be asked after the hold is asked again.
const gateRetry = 5 * time.Second

// holdGated runs watch (the canary's hold) while the policy's metric gate, when it has
// one, is asked every its every: a crossing ends the hold with a *gateCrossed. Once the
// hold passed the gate is asked again until a reading passes (one that cannot be taken
// is asked again until ctx ends): the canary passes only on a reading taken after it.
func holdGated(ctx context.Context, spec *policy.Gate, log zerolog.Logger, watch func(context.Context) error) error {
	if spec == nil {
		return watch(ctx)
	}
	g, err := gate.New(*spec)
	if err != nil {
		return fmt.Errorf("metric gate: %w", err)
	}
	every := spec.Every
	if every <= 0 {
		every = policy.DefaultGateEvery
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			if ok, reason, err := g.Check(wctx); err == nil && !ok {
				cancel(&gateCrossed{reason})
				return
			} else if err != nil && wctx.Err() == nil {
				log.Warn().Err(err).Msg("metric gate not answered during the canary's hold")
			}
		}
	}()
	err = watch(wctx)
	var crossed *gateCrossed
	if errors.As(context.Cause(wctx), &crossed) {
		return crossed
	}
	if err != nil {
		return err
	}
	for {
		ok, reason, err := g.Check(ctx)
		switch {
		case err == nil && ok:
			log.Info().Str("gate", reason).Msg("metric gate passed after the hold")
			return nil
		case err == nil:
			return &gateCrossed{reason}
		}
		log.Warn().Err(err).Msg("metric gate not answered after the canary's hold; asking again")
		if serr := sleep(ctx, gateRetry); serr != nil {
			return fmt.Errorf("metric gate never answered after the hold (%v): %w", err, serr)
		}
	}
}
