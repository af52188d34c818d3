package container

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/probe"
)

// Update replaces the containers of ws in batches of p.Parallelism. The first failure
// stops the rollout and every container this call replaced gets its old container back,
// so the group ends on one image.
func (b *Backend) Update(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	image := t.Image()
	log = log.With().Str("image", image).Logger()
	if err := ctx.Err(); err != nil {
		return updater.Result{Outcome: updater.Aborted, Reason: "cancelled before the rollout started"}
	}
	ectx, gate, cancel := b.budget(ctx, p)
	defer cancel()

	swaps, skipped, refused, err := b.pick(ectx, ws, t, p, log)
	if err != nil {
		return updater.Result{Outcome: updater.Aborted, Reason: err.Error()}
	}
	note := b.checkProbe(gate, swaps, &p, log)
	if len(swaps) == 0 {
		if len(refused) > 0 {
			return updater.Result{Outcome: updater.RefusedOutcome, Reason: "not replaced: " + strings.Join(append(refused, skipped...), ", ")}
		}
		return updater.Result{Outcome: updater.Skipped, Reason: "nothing to replace: " + strings.Join(skipped, ", ")}
	}
	skipped = append(skipped, refused...)
	swaps = arrange(swaps)
	if err := b.pull(gate, image, t.RegistryAuth); err != nil {
		log.Error().Err(err).Msg("pull failed")
		return updater.Result{Outcome: updater.Aborted, Reason: err.Error()}
	}
	log.Info().Msg("image pulled")
	res := updater.Result{Order: orders(swaps)}
	canary := canaryCount(p, swaps)       // canary.go
	if s := b.selfSwap(swaps); s != nil { // hoist's own container (selfswap.go)
		j.Enter(updater.PhaseConverging)
		return b.updateSelf(ctx, ectx, swaps, s, p, res, j, log)
	}
	if canary > 0 {
		j.Enter(updater.PhaseCanary, fmt.Sprintf("%s on %s, hold %s", canaryWhat(swaps[:canary], len(swaps)), image, p.Canary.Hold))
	} else {
		j.Enter(updater.PhaseConverging)
	}
	done, failed := b.replaceAll(ctx, ectx, gate, swaps, canary, p, res, j, log)
	if failed != nil {
		return *failed
	}
	log.Info().Dur("watch", p.Watch).Msg("all replaced; watching")
	j.Enter(updater.PhaseWatching)
	if err := b.watch(gate, restartsOf(done), p.Watch, p.HTTPProbe); err != nil {
		if stopped(ctx, err) {
			return handOver("watching", done, res, log)
		}
		return b.revertAll(ctx, done, done, err, res, j, log)
	}
	var errs []error
	for _, s := range done {
		errs = append(errs, s.finish(ectx))
	}
	res.Outcome = updater.Succeeded
	res.Reason = fmt.Sprintf("replaced %s on %s", names(done), image)
	if canary > 0 {
		res.Reason = fmt.Sprintf("%s held %s, healthy; %s", canaryWhat(done[:canary], len(done)), p.Canary.Hold, res.Reason)
	}
	res.Reason += b.composeNotes(ectx, done, p.ComposeFile) // composefile.go
	if note != "" {
		res.Reason += "; " + note
	}
	if len(skipped) > 0 {
		res.Reason += "; skipped " + strings.Join(skipped, ", ")
	}
	if err := errors.Join(errs...); err != nil {
		res.Reason += "; cleaning up the old containers failed: " + err.Error()
	}
	log.Info().Msg("rollout succeeded")
	return res
}

// pick sorts the workloads' containers into those to replace, those skipped (on the
// target already, not running) and those refused (started with --rm).
func (b *Backend) pick(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, log zerolog.Logger) (swaps []*swap, skipped, refused []string, err error) {
	image := t.Image()
	for _, w := range ws {
		id := w.ID
		if id == "" {
			id = w.Name
		}
		c, err := b.inspect(ctx, id)
		if err != nil {
			return nil, nil, nil, err
		}
		name := strings.TrimPrefix(c.Name, "/")
		switch {
		case c.Config.Image == image || b.repoDigest(ctx, c.Image, c.Config.Image) == t.Digest.String():
			skipped = append(skipped, name+" (already on the target)")
		case !running(c):
			skipped = append(skipped, name+" (not running)")
		case c.HostConfig != nil && c.HostConfig.AutoRemove:
			// Stopping it deletes it: there would be nothing to bring back if the
			// new image failed, and nothing to keep for a manual rollback.
			refused = append(refused, name+" (started with --rm: the engine deletes it once stopped, so it could not be brought back if the new image failed; recreate it without --rm)")
		default:
			swaps = append(swaps, b.newSwap(c, image, p, log))
		}
	}
	return swaps, skipped, refused, nil
}

// checkProbe drops the plan's HTTP probe when it fails against the running version
// too: it cannot tell a good image from a bad one (hoist cannot reach the port, or the
// path is wrong). It returns a note saying so, or "".
func (b *Backend) checkProbe(gate context.Context, swaps []*swap, p *updater.Plan, log zerolog.Logger) string {
	if p.HTTPProbe == nil || len(swaps) == 0 {
		return ""
	}
	err := b.baseline(gate, swaps, p.HTTPProbe)
	if err == nil {
		return ""
	}
	note := "HTTP probe not used: it fails against the running version too (" + err.Error() + ")"
	log.Warn().Msg(note)
	p.HTTPProbe = nil
	for _, s := range swaps {
		s.probe = nil
	}
	return note
}

// replaceAll replaces the containers batch by batch (parallelism, delay), monitoring
// each batch. With a canary, its first batch is the canary's first containers, watched
// for the hold. It returns the swaps made, or the result of reverting them when one
// failed, or of handing them over when hoist stopped first.
func (b *Backend) replaceAll(ctx, ectx, gate context.Context, swaps []*swap, canary int, p updater.Plan, res updater.Result, j updater.Journal, log zerolog.Logger) ([]*swap, *updater.Result) {
	batch := max(p.Parallelism, 1)
	var done []*swap
	for i, end := 0, 0; i < len(swaps); i = end {
		if i > 0 && p.Delay > 0 {
			if err := sleep(gate, p.Delay); err != nil {
				if stopped(ctx, err) {
					r := handOver("between batches", done, res, log)
					return nil, &r
				}
				r := b.revertAll(ctx, done, nil, fmt.Errorf("stopped between batches: %w", err), res, j, log)
				return nil, &r
			}
		}
		end = batchEnd(swaps, i, batch)
		monitor := p.Monitor
		if i == 0 && canary > 0 {
			end, monitor = canary, p.Canary.Hold
		}
		part := swaps[i:end]
		errs := make([]error, len(part))
		var wg sync.WaitGroup
		for k, s := range part {
			wg.Go(func() { errs[k] = s.replace(ectx, gate) })
		}
		wg.Wait()
		done = append(done, part...)
		err, cut := errors.Join(errs...), stopped(ctx, errs...)
		// Every batch is monitored, the last one too: a container without a healthcheck
		// passes the gate as soon as it runs, and with no watch configured a crash a
		// second later would otherwise go unnoticed (Swarm monitors every task alike).
		held := time.Now()
		switch {
		case err == nil && i == 0 && canary > 0: // the canary's hold, with the metric gate (canary_gate.go)
			err = holdGated(gate, p.Gate, log, func(c context.Context) error { return b.watch(c, restartsOf(part), monitor, p.HTTPProbe) })
			cut = stopped(ctx, err)
		case err == nil && monitor > 0:
			err = b.watch(gate, restartsOf(part), monitor, p.HTTPProbe)
			cut = stopped(ctx, err)
		}
		if i == 0 && canary > 0 {
			what := canaryWhat(part, len(swaps))
			switch {
			case err == nil:
				log.Info().Str("canary", names(part)).Msg("canary held; replacing the rest")
				j.Enter(updater.PhaseConverging, fmt.Sprintf("%s held %s, healthy → replacing the rest", what, p.Canary.Hold))
			case !cut:
				err = &canaryError{what: what, in: time.Since(held), hold: p.Canary.Hold, err: err}
			}
		}
		if err == nil {
			continue
		}
		if cut {
			r := handOver("replacing", done, res, log)
			return nil, &r
		}
		r := b.revertAll(ctx, done, part, err, res, j, log)
		return nil, &r
	}
	return done, nil
}

// budget gives a rollout its contexts. Engine calls use ectx and run to completion
// even when ctx is cancelled: a step is never cut half-way. Waiting for health uses
// gate, which ends on shutdown (the rollout is then handed over) or at the plan's
// timeout (the rollout failed).
func (b *Backend) budget(ctx context.Context, p updater.Plan) (ectx, gate context.Context, cancel func()) {
	timeout := p.TimeoutOrDefault()
	ectx, cancelE := context.WithTimeout(context.WithoutCancel(ctx), timeout+b.grace)
	gate, cancelGate := context.WithTimeout(ctx, timeout)
	return ectx, gate, func() { cancelGate(); cancelE() }
}

// revertAll brings every replaced container's old one back, under a grace period that
// outlives a shutdown. failed are the ones whose logs are worth keeping.
func (b *Backend) revertAll(ctx context.Context, done, failed []*swap, cause error, res updater.Result, j updater.Journal, log zerolog.Logger) updater.Result {
	log.Warn().Err(cause).Msg("rollout failed; reverting")
	j.Enter(updater.PhaseRollingBack)
	gctx, cancel := b.graceCtx(ctx)
	defer cancel()
	errs := b.revertRetrying(gctx, done, log)
	var logs []string
	for _, s := range all(failed) {
		if s.logs != "" {
			logs = append(logs, "== "+s.name+" ==\n"+s.logs)
		}
	}
	res.Logs = strings.Join(logs, "\n")
	why := cause.Error()
	if errors.Is(cause, context.Canceled) {
		why = "cancelled (shutdown) during the rollout: " + why
	}
	if err := errors.Join(errs...); err != nil {
		res.Outcome = updater.Failed
		res.Reason = fmt.Sprintf("%s; reverting %s failed: %v", why, names(done), err)
		log.Error().Err(err).Msg("revert failed")
		return res
	}
	res.Outcome = updater.RolledBack
	res.Reason = fmt.Sprintf("%s; rolled back %s to their old containers, none stays upgraded", why, names(done))
	log.Info().Msg("rolled back")
	return res
}

// revertRetrying reverts done, last first, and tries again what failed while the grace
// period lasts: an engine that restarts (a node reboot) refuses calls for a while,
// even some it answers. It returns the errors of the last try.
func (b *Backend) revertRetrying(ctx context.Context, done []*swap, log zerolog.Logger) []error {
	todo := slices.Clone(done)
	for {
		var errs []error
		var left []*swap
		for _, s := range slices.Backward(todo) {
			if err := s.revert(ctx); err != nil {
				errs = append(errs, err)
				left = append([]*swap{s}, left...)
			}
		}
		if len(left) == 0 {
			return nil
		}
		log.Warn().Err(errors.Join(errs...)).Msg("reverting failed; trying again once the engine answers")
		if sleep(ctx, revertRetry) != nil || b.answering(ctx, log) != nil {
			return errs
		}
		todo = left
	}
}

// revertRetry is the pause before a failed revert is tried again.
const revertRetry = 2 * time.Second

func (b *Backend) pull(ctx context.Context, image, auth string) error {
	r, err := b.c.ImagePull(ctx, image, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	defer r.Close()
	if err := r.Wait(ctx); err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	return nil
}

// baseline probes the running containers about to be replaced: nil when one answers.
func (b *Backend) baseline(ctx context.Context, ss []*swap, p *updater.HTTPProbe) error {
	var addrs []string
	for _, s := range ss {
		if a := probe.ContainerAddr(s.old, p.Port); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("http probe: no address for port %d", p.Port)
	}
	return probe.AnyAnswers(ctx, addrs, p.Path)
}

func restartsOf(ss []*swap) map[string]int {
	m := make(map[string]int, len(ss))
	for _, s := range all(ss) {
		if s.newID != "" {
			m[s.newID] = s.restarts
		}
	}
	return m
}

// all is ss with the swaps that followed each (follow.go), depth first.
func all(ss []*swap) []*swap {
	var out []*swap
	for _, s := range ss {
		out = append(out, s)
		out = append(out, all(s.deps)...)
	}
	return out
}

func names(ss []*swap) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.name)
		for _, d := range all(s.deps) {
			n = append(n, d.name+" (in "+s.name+"'s network namespace)")
		}
	}
	return strings.Join(n, ", ")
}

// orders says which order each container used, once when they all agree.
func orders(ss []*swap) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.name+": "+s.order)
	}
	first := ss[0].order
	for _, s := range ss {
		if s.order != first {
			return strings.Join(out, "; ")
		}
	}
	return first
}
