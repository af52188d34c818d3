package container

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// selfRuns is how many times a hoist starts a switcher again that ended without a
// verdict (killed with the engine) before it gives up.
const selfRuns = 3

// switchState is what the engine shows of a switch of hoist's own container.
type switchState struct {
	sw, failed, cur, old          container.InspectResponse
	hasSw, hasFailed, hasCur, has bool // has: the old container waits as <name>-hoist-old
}

// swapped reports whether the replacement holds the name while the old one waits.
func (st switchState) swapped() bool {
	return st.hasCur && st.has && st.cur.Config.Labels[LabelSwapOf] == st.old.ID
}

func (b *Backend) readSwitch(ctx context.Context, name string) (st switchState, err error) {
	for _, r := range []struct {
		c   *container.InspectResponse
		ok  *bool
		suf string
	}{{&st.sw, &st.hasSw, suffixSwitch}, {&st.failed, &st.hasFailed, suffixFailed}, {&st.cur, &st.hasCur, ""}, {&st.old, &st.has, suffixOld}} {
		if *r.c, *r.ok, err = b.lookup(ctx, name+r.suf); err != nil {
			return st, err
		}
	}
	return st, nil
}

// resumeSelf takes over the rollout of hoist's own container from the switch the
// engine shows: ok is false when there is none (no switcher, no failed new hoist). It
// waits for the switcher's verdict, then records it: in the new hoist, the swap is
// finished (succeeded); in the old hoist back, the failed new one is removed (rolled
// back, its logs kept). A switcher that ended without a verdict is started again while
// the new hoist runs; while the old one runs, the switch is called off.
func (b *Backend) resumeSelf(ctx, stop context.Context, name string, p updater.Plan, j updater.Journal, log zerolog.Logger) (updater.Result, bool) {
	// The switcher may take longer than a rollout's budget (its stop, gate and watch).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), selfRuns*switcherBound(p)+b.grace)
	defer cancel()
	st, err := b.readSwitch(ctx, name)
	if err != nil {
		return updater.Result{Outcome: updater.Aborted, Reason: "reading the switch of hoist's own container: " + err.Error()}, true
	}
	if !st.hasSw && !st.hasFailed {
		return updater.Result{}, false
	}
	log = log.With().Bool("self", true).Logger()
	for run := 1; ; run++ {
		if st.hasSw && st.sw.State != nil && st.sw.State.Status == container.StateCreated {
			// Its hoist stopped between creating and starting it.
			if err := b.start(ctx, st.sw.ID); err != nil {
				return updater.Result{Outcome: updater.Failed, Reason: "starting the switcher of hoist's own container: " + err.Error()}, true
			}
		}
		if st.hasSw && !exited(st.sw) {
			if st.swapped() {
				j.Enter(updater.PhaseWatching)
			}
			log.Info().Str("switcher", short(st.sw.ID)).Msg("resuming hoist's own rollout: waiting for the switcher's verdict")
			if res, cut := b.awaitSwitcher(ctx, stop, st.sw.ID, p, log); cut {
				return res, true
			}
			if st, err = b.readSwitch(ctx, name); err != nil {
				return updater.Result{Outcome: updater.Aborted, Reason: "reading the switch of hoist's own container: " + err.Error()}, true
			}
		}
		switch {
		case st.hasFailed && st.hasCur && st.failed.Config.Labels[LabelSwapOf] == st.cur.ID:
			return b.selfRolledBack(ctx, name, st, j, log), true
		case !st.hasSw || !st.swapped():
			log.Warn().Msg("a switch of hoist's own container left names that do not fit together; recovering as a plain swap")
			if st.hasSw {
				b.remove(ctx, st.sw.ID)
			}
			return updater.Result{}, false
		case st.sw.State.ExitCode == 0:
			return b.selfSucceeded(ctx, name, st, p, run-1, log), true
		case b.self == st.old.ID:
			return b.selfCalledOff(ctx, name, st, log), true
		case run >= selfRuns || b.self != st.cur.ID:
			return updater.Result{Outcome: updater.Failed, Reason: fmt.Sprintf("the switcher of hoist's own container %s ended without a verdict %d times (%s); "+
				"the new hoist runs as %s, the old one waits as %s", name, run, verdictIn(b.tailLogs(ctx, st.sw.ID, false)), name, name+suffixOld)}, true
		}
		log.Warn().Int("exit_code", st.sw.State.ExitCode).Msg("the switcher ended without a verdict; starting it again")
		if err := b.start(ctx, st.sw.ID); err != nil {
			return updater.Result{Outcome: updater.Failed, Reason: "starting the switcher of hoist's own container again: " + err.Error()}, true
		}
		st.sw.State.Running, st.sw.State.Status = true, container.StateRunning
	}
}

// awaitSwitcher waits for the switcher to exit, within the time it may take; cut is
// true (with the result) when hoist stops first or the switcher overruns.
func (b *Backend) awaitSwitcher(ctx, stop context.Context, id string, p updater.Plan, log zerolog.Logger) (updater.Result, bool) {
	bound := time.NewTimer(switcherBound(p))
	defer bound.Stop()
	for {
		c, err := b.inspect(ctx, id)
		if err != nil || exited(c) {
			return updater.Result{}, false
		}
		select {
		case <-stop.Done():
			return handOver("the switcher judged the new hoist", nil, updater.Result{}, log), true
		case <-bound.C:
			return updater.Result{Outcome: updater.Failed, Reason: "the switcher of hoist's own container did not end in time"}, true
		case <-time.After(pollEvery):
		}
	}
}

// switcherBound is the longest a switcher may run: it stops the old hoist, gates the
// new one within the timeout, watches it, and may bring the old one back.
func switcherBound(p updater.Plan) time.Duration {
	return selfStopWait + p.TimeoutOrDefault() + selfWatch(p) + time.Minute
}

// selfSucceeded finishes a switch the new hoist passed: the switcher goes, the old
// container is kept as <name>-hoist-prev or removed.
func (b *Backend) selfSucceeded(ctx context.Context, name string, st switchState, p updater.Plan, again int, log zerolog.Logger) updater.Result {
	verdict := verdictIn(b.tailLogs(ctx, st.sw.ID, false))
	if err := b.remove(ctx, st.sw.ID); err != nil {
		log.Warn().Err(err).Msg("removing the switcher")
	}
	keep := keepOf(st.cur)
	if keep > 0 && p.KeepPrevious > 0 {
		keep = p.KeepPrevious
	}
	s := &swap{b: b, log: log, old: st.old, name: name, keep: keep}
	if sup, ok, err := b.lookup(ctx, name+suffixSuperseded); err == nil && ok {
		s.superseded = sup.ID
	}
	res := updater.Result{Outcome: updater.Succeeded, Reason: fmt.Sprintf("replaced hoist's own container %s on %s; switcher: %s%s",
		name, st.cur.Config.Image, verdict, b.recordedBy())}
	if again > 0 {
		res.Reason += fmt.Sprintf("; the switcher ended without a verdict and was started again (%d times)", again)
	}
	if err := s.finish(ctx); err != nil {
		res.Reason += "; cleaning up the old container failed: " + err.Error()
	}
	log.Info().Msg("hoist's own rollout succeeded")
	return res
}

// selfRolledBack records a switch the new hoist failed: the old hoist runs again under
// the name; the failed one (its logs kept in the record) and the switcher go.
func (b *Backend) selfRolledBack(ctx context.Context, name string, st switchState, j updater.Journal, log zerolog.Logger) updater.Result {
	j.Enter(updater.PhaseRollingBack)
	verdict := "(no switcher left)"
	if st.hasSw {
		verdict = verdictIn(b.tailLogs(ctx, st.sw.ID, false))
	}
	logs := b.tailLogs(ctx, st.failed.ID, st.failed.Config.Tty)
	res := updater.Result{Outcome: updater.RolledBack, Logs: "== " + name + " (new hoist) ==\n" + logs,
		Reason: fmt.Sprintf("the new hoist (%s) failed; switcher: %s; hoist's own container %s is back on its old container %s%s",
			st.failed.Config.Image, verdict, name, short(st.cur.ID), b.recordedBy())}
	if err := b.discard(ctx, st.failed.ID); err != nil {
		res.Reason += "; removing the failed container: " + err.Error()
	}
	if st.hasSw {
		if err := b.remove(ctx, st.sw.ID); err != nil {
			res.Reason += "; removing the switcher: " + err.Error()
		}
	}
	if err := b.recoverSuperseded(ctx, name, log); err != nil {
		res.Reason += "; " + err.Error()
	}
	log.Warn().Str("reason", res.Reason).Msg("hoist's own rollout rolled back")
	return res
}

// selfCalledOff undoes a switch that never happened (the old hoist runs, its switcher
// ended without stopping it): not the new image's fault.
func (b *Backend) selfCalledOff(ctx context.Context, name string, st switchState, log zerolog.Logger) updater.Result {
	verdict := verdictIn(b.tailLogs(ctx, st.sw.ID, false))
	b.remove(ctx, st.sw.ID)
	if err := b.reverse(ctx, name, st.old.ID, st.cur.ID); err != nil {
		return updater.Result{Outcome: updater.Failed, Reason: "calling off the switch of hoist's own container: " + err.Error()}
	}
	if err := b.recoverSuperseded(ctx, name, log); err != nil {
		log.Warn().Err(err).Msg("putting the earlier previous container back")
	}
	return updater.Result{Outcome: updater.RolledBack, NotTheImage: true,
		Reason: fmt.Sprintf("the switcher of hoist's own container %s ended without switching (%s); the old hoist stays", name, verdict)}
}

// recordedBy names the container of the hoist that writes the record.
func (b *Backend) recordedBy() string {
	if b.self == "" {
		return ""
	}
	return "; recorded by the hoist in container " + short(b.self)
}

// exited reports whether a container ran and stopped.
func exited(c container.InspectResponse) bool {
	return c.State != nil && !c.State.Running && c.State.Status != container.StateCreated
}
