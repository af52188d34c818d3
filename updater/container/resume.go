package container

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

var _ updater.Resumer = (*Backend)(nil)

// Resume takes over a container rollout a previous hoist left unfinished, from the
// names and labels in the engine:
//
//   - the replacement holds the name and the old container waits as <name>-hoist-old:
//     the replacement is judged again — its health gate, then the whole watch, HTTP
//     probe included — and either the swap is finished or the old container (the very
//     same one, with its data) comes back;
//   - the swap was cut before the replacement held the name: it is undone, and the
//     target was not judged (the record says aborted; the next check tries it);
//   - the container already runs the target and nothing is left over: it had finished;
//   - the container runs what it ran and no swap left a name behind: nothing had
//     changed yet, and the rollout is made now, once.
func (b *Backend) Resume(ctx context.Context, w updater.Workload, rec updater.Rollout, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	log = log.With().Str("container", w.Name).Logger()
	ectx, gate, cancel := b.budget(ctx, p)
	defer cancel()
	if err := b.answering(gate, log); err != nil {
		if stopped(ctx, err) {
			return handOver("waiting for the engine", nil, updater.Result{}, log)
		}
		return updater.Result{Outcome: updater.Aborted, Reason: "the engine did not answer: " + err.Error()}
	}
	if res, ok := b.resumeSelf(ectx, ctx, w.Name, p, j, log); ok { // hoist's own container (selfresume.go)
		return res
	}
	name := w.Name
	old, hasOld, err1 := b.lookup(ectx, name+suffixOld)
	_, hasNext, err2 := b.lookup(ectx, name+suffixNext)
	cur, hasCur, err3 := b.lookup(ectx, name)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return updater.Result{Outcome: updater.Aborted, Reason: err.Error()}
		}
	}
	inCanary := rec.Phase == updater.PhaseCanary // the group's canary held (canary.go)
	if inCanary {
		p.Watch = max(p.Watch, p.Canary.HoldFor()) // a canary container is watched for the whole hold again
	}
	switch {
	case hasOld && hasCur && cur.Config.Labels[LabelSwapOf] == old.ID:
		return b.rewatch(ectx, gate, ctx, name, old, cur, p, j, log)
	case hasOld || hasNext:
		if err := b.recoverOne(ectx, name, log); err != nil {
			return updater.Result{Outcome: updater.Failed, Reason: "undoing the half-done swap: " + err.Error()}
		}
		return updater.Result{Outcome: updater.Aborted, Reason: "the swap was cut before the replacement held the name; " + name + " runs its old container again (the target was not judged)"}
	case hasCur && cur.Config.Image == t.Image():
		return updater.Result{Outcome: updater.Succeeded, Reason: "the swap had finished: " + name + " runs " + t.Image()}
	case hasCur && inCanary:
		// One of the group's others, left on the old image while its canary held: it
		// follows only once a check finds the digest passed the canary (it is
		// quarantined if the canary failed).
		return updater.Result{Outcome: updater.Aborted, Reason: "hoist stopped while the group's canary held; " + name + " was not replaced (the next check starts the group's rollout again)"}
	case hasCur:
		// A swap leaves names behind until it is finished: with none, nothing had
		// changed yet (hoist stopped after its record, before or while pulling).
		log.Info().Msg("resuming: the swap had not started; making it now")
		w.ID = cur.ID
		return b.Update(ctx, []updater.Workload{w}, t, p, j, log)
	default:
		return updater.Result{Outcome: updater.Aborted, Reason: "container " + name + " is gone"}
	}
}

// rewatch judges a replacement that holds the name again, and finishes the swap or
// brings the old container back; it hands the swap over as it is when stop (hoist's
// own context) ends first.
func (b *Backend) rewatch(ctx, gate, stop context.Context, name string, old, cur container.InspectResponse, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	if cur.State != nil && cur.State.Status == container.StateCreated {
		// Never started (stop-first, cut before the start): nothing was judged.
		if err := b.reverse(ctx, name, old.ID, cur.ID); err != nil {
			return updater.Result{Outcome: updater.Failed, Reason: "undoing the half-done swap: " + err.Error()}
		}
		return updater.Result{Outcome: updater.Aborted, Reason: "the replacement had not started; " + name + " runs its old container again (the target was not judged)"}
	}
	j.Enter(updater.PhaseWatching)
	log.Info().Dur("watch", p.Watch).Msg("resuming: the replacement holds the name; judging it again")
	restarts, err := b.waitHealthy(gate, cur.ID, p.HTTPProbe)
	if err == nil {
		err = b.watch(gate, map[string]int{cur.ID: restarts}, p.Watch, p.HTTPProbe)
	}
	if stopped(stop, err) {
		return handOver("watching", nil, updater.Result{}, log)
	}
	if err != nil {
		j.Enter(updater.PhaseRollingBack)
		log.Warn().Err(err).Msg("the replacement failed; bringing the old container back")
		logs := b.tailLogs(ctx, cur.ID, cur.Config.Tty)
		if rerr := b.reverse(ctx, name, old.ID, cur.ID); rerr != nil {
			return updater.Result{Outcome: updater.Failed, Reason: fmt.Sprintf("%v; bringing the old container back failed: %v", err, rerr)}
		}
		if rerr := b.recoverSuperseded(ctx, name, log); rerr != nil {
			log.Warn().Err(rerr).Msg("putting the earlier previous container back")
		}
		return updater.Result{Outcome: updater.RolledBack, Logs: "== " + name + " ==\n" + logs,
			Reason: fmt.Sprintf("%v; rolled back %s to its old container %.12s", err, name, old.ID)}
	}
	keep := keepOf(cur)
	if keep > 0 && p.KeepPrevious > 0 {
		keep = p.KeepPrevious
	}
	s := &swap{b: b, log: log, old: old, name: name, keep: keep}
	s.refollow(ctx, cur)
	res := updater.Result{Outcome: updater.Succeeded, Reason: "replaced " + name + " on " + cur.Config.Image + " (judged again after the restart)"}
	res.Reason += b.composeNotes(ctx, []*swap{{old: old, image: cur.Config.Image, log: log}}, p.ComposeFile) // composefile.go
	if err := s.finish(ctx); err != nil {
		res.Reason += "; cleaning up the old container failed: " + err.Error()
	}
	if err := b.recoverSuperseded(ctx, name, log); err != nil {
		res.Reason += "; " + err.Error()
	}
	return res
}

// answering waits until the engine answers (dockerd may be restarting with the node).
func (b *Backend) answering(ctx context.Context, log zerolog.Logger) error {
	for {
		_, err := b.c.Ping(ctx, client.PingOptions{})
		if err == nil {
			return nil
		}
		log.Warn().Err(err).Msg("resuming: the engine does not answer yet")
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// Unfinished finishes the half-done swaps the store knows nothing of (as Recover does)
// and hands back, for Resume, each one whose replacement holds the name while its old
// container still waits as <name>-hoist-old: its watch was cut, and it is judged again
// for the watch its label names (or its policy's, when one governs it).
func (b *Backend) Unfinished(ctx context.Context, ws []updater.Workload, known func(string) bool, plans func(updater.Workload) (updater.Plan, bool)) []updater.Rollout {
	var out []updater.Rollout
	taken := func(base string) bool {
		key := string(policy.Container) + "/" + base
		if known(key) {
			return true
		}
		r, ok := b.cutWatch(ctx, base, plans)
		if ok {
			r.Workload = key
			out = append(out, r)
		}
		return ok
	}
	if err := b.recoverAll(ctx, b.log, taken); err != nil {
		b.log.Error().Err(err).Msg("recovering half-done container swaps")
	}
	return out
}

// cutWatch reads a swap whose watch a previous hoist did not finish.
func (b *Backend) cutWatch(ctx context.Context, base string, plans func(updater.Workload) (updater.Plan, bool)) (updater.Rollout, bool) {
	old, hasOld, err1 := b.lookup(ctx, base+suffixOld)
	cur, hasCur, err2 := b.lookup(ctx, base)
	if err1 != nil || err2 != nil || !hasOld || !hasCur || cur.Config.Labels[LabelSwapOf] != old.ID {
		return updater.Rollout{}, false
	}
	d, err := time.ParseDuration(cur.Config.Labels[LabelWatch])
	if err != nil {
		return updater.Rollout{}, false // made by a hoist that kept no watch label
	}
	p, ok := plans(updater.Workload{Kind: policy.Container, Name: base, Labels: cur.Config.Labels})
	if !ok {
		p = updater.Plan{Watch: d}
	}
	now := time.Now()
	started, _ := time.Parse(time.RFC3339Nano, cur.Created)
	return updater.Rollout{From: old.Config.Image, To: cur.Config.Image, Trigger: updater.TriggerEngine, Started: started,
		Phase: updater.PhaseWatching, PhaseAt: now, Plan: &p}, true
}
