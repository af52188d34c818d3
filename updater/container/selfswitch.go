package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// SwitchSpec is what a switcher container is told (its command line).
type SwitchSpec struct {
	// Name is the name of hoist's own container.
	Name string
	// Old and New are the IDs of the old hoist's container and of its replacement.
	Old, New string
	// Watch is how long the new hoist must stay up; Timeout bounds its health gate.
	Watch, Timeout time.Duration
	// Probe, when set, must answer from the new hoist.
	Probe *updater.HTTPProbe
}

// ErrSwitchedBack says the new hoist failed and the old one runs again.
var ErrSwitchedBack = errors.New("the new hoist failed; the old one runs again")

// verdictPrefix starts the line a switcher writes last, which the next hoist quotes.
const verdictPrefix = "verdict: "

// Switch is what the switcher container runs: it stops the old hoist, starts the new
// one and watches it (health gate, then the watch: no exit, no restart, healthy). When
// the new hoist fails, it is stopped and kept as <name>-hoist-failed and the old one
// takes its name back and starts (ErrSwitchedBack). Each step reads the engine first,
// so a switcher run again after an interruption carries on from where it was.
func (b *Backend) Switch(ctx context.Context, sp SwitchSpec) error {
	log := b.log.With().Str("container", sp.Name).Str("old_id", short(sp.Old)).Str("new_id", short(sp.New)).Logger()
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sp.Timeout+sp.Watch+b.grace)
	defer cancel()
	if f, ok, err := b.lookup(ectx, sp.Name+suffixFailed); err != nil {
		return err
	} else if ok && f.ID == sp.New {
		log.Info().Msg("the new hoist had failed already; making sure the old one runs")
		return errors.Join(ErrSwitchedBack, b.switchBack(ectx, sp, log))
	}
	cur, ok, err := b.lookup(ectx, sp.Name)
	if err != nil {
		return err
	}
	if !ok || cur.ID != sp.New {
		return fmt.Errorf("nothing to switch: %s is not the new hoist %s", sp.Name, short(sp.New))
	}
	old, err := b.inspect(ectx, sp.Old)
	if err != nil {
		return err
	}
	if running(old) {
		log.Info().Msg("stopping the old hoist")
		if err := b.stopWithin(ectx, sp.Old, selfStopWait); err != nil {
			return err
		}
	}
	gate, cancelGate := context.WithTimeout(ctx, sp.Timeout+sp.Watch)
	defer cancelGate()
	err = b.judgeNew(ectx, gate, sp, running(cur), log)
	if err == nil {
		log.Info().Dur("watch", sp.Watch).Msg("the new hoist passed")
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("the switcher was stopped before its verdict: %w", err)
	}
	log.Warn().Err(err).Msg("the new hoist failed; bringing the old one back")
	return errors.Join(fmt.Errorf("%w: %w", ErrSwitchedBack, err), b.switchBack(ectx, sp, log))
}

// judgeNew starts the new hoist (unless it runs) and judges it: health gate, then watch.
func (b *Backend) judgeNew(ctx, gate context.Context, sp SwitchSpec, isRunning bool, log zerolog.Logger) error {
	if !isRunning {
		if err := b.start(ctx, sp.New); err != nil {
			return err
		}
		log.Info().Msg("new hoist started; waiting for health")
	}
	restarts, err := b.waitHealthy(gate, sp.New, sp.Probe)
	if err != nil {
		return err
	}
	log.Info().Dur("watch", sp.Watch).Msg("new hoist up; watching it")
	return b.watch(gate, map[string]int{sp.New: restarts}, sp.Watch, sp.Probe)
}

// switchBack stops the new hoist and keeps it as <name>-hoist-failed (never restarted
// by the engine), and brings the old one back under the name, started. Each step is
// skipped when the engine shows it done.
func (b *Backend) switchBack(ctx context.Context, sp SwitchSpec, log zerolog.Logger) error {
	if err := b.stop(ctx, sp.New); err != nil {
		return err
	}
	if err := b.setRestart(ctx, sp.New, noRestart); err != nil {
		return err
	}
	failed := sp.Name + suffixFailed
	if c, err := b.inspect(ctx, sp.New); err != nil {
		return err
	} else if c.Name != "/"+failed {
		if stale, ok, err := b.lookup(ctx, failed); err != nil {
			return err
		} else if ok {
			if err := b.remove(ctx, stale.ID); err != nil {
				return err
			}
		}
		if err := b.rename(ctx, sp.New, failed); err != nil {
			return err
		}
	}
	if c, err := b.inspect(ctx, sp.Old); err != nil {
		return err
	} else if c.Name != "/"+sp.Name {
		if err := b.rename(ctx, sp.Old, sp.Name); err != nil {
			return err
		}
	}
	if err := b.start(ctx, sp.Old); err != nil {
		return err
	}
	log.Info().Msg("old hoist back")
	return b.recoverSuperseded(ctx, sp.Name, log)
}

// stopWithin stops a container, killing it after wait.
func (b *Backend) stopWithin(ctx context.Context, id string, wait time.Duration) error {
	secs := int(wait.Seconds())
	if _, err := b.c.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("stop container %s: %w", short(id), err)
	}
	return nil
}

// Verdict is the line a switcher writes last for err, Switch's result.
func Verdict(err error) string {
	switch {
	case err == nil:
		return verdictPrefix + "the new hoist passed"
	case errors.Is(err, ErrSwitchedBack):
		return verdictPrefix + oneLine(err.Error())
	default:
		return verdictPrefix + "no verdict: " + oneLine(err.Error())
	}
}

// verdictIn finds a switcher's verdict in its logs.
func verdictIn(logs string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), verdictPrefix); ok {
			return v
		}
	}
	return "it wrote no verdict"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
