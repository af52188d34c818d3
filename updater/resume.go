package updater

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/registry"
)

// resume takes over what a previous hoist process left: every record still running in
// the store, and what the engine alone shows of rollouts the store does not know (a
// hoist started with an empty data_dir). Each becomes a job that holds its workload's
// slot until it has ended, so events for that workload wait for it; other workloads
// are served meanwhile. It returns once the jobs are started.
func (u *Updater) resume(ctx context.Context) {
	recs, err := u.store.Unfinished()
	if err != nil {
		u.log.Error().Err(err).Msg("read unfinished rollouts")
	}
	ws, ok := u.listUntilAnswered(ctx)
	if !ok {
		return
	}
	defer u.promoteOnStart()
	byKey := map[string]Workload{}
	for _, w := range ws {
		byKey[w.Key()] = w
	}
	known := map[string]bool{}
	for _, r := range recs {
		// A manual action (to "(previous)") is not resumed: what it left half-done in
		// the engine is the backend's to recover, as if the store had no record.
		if _, err := registry.ParsePinned(r.To); err == nil {
			known[r.Workload] = true
		}
	}
	recs = append(recs, u.engineEvidence(ctx, ws, known)...)
	// The records of one job (a group of containers) are resumed in turn by one job.
	type item struct {
		w Workload
		r Rollout
	}
	jobs := map[string][]item{}
	var order []string
	for _, r := range recs {
		w, listed := byKey[r.Workload]
		if !listed {
			w = keyWorkload(r.Workload)
			w.Image = r.From
		}
		key := w.Key()
		if rule, _ := u.policies().For(w.Kind, w.Name, w.Labels); rule != nil && listed {
			key = u.jobKey(w, rule)
		}
		if _, ok := jobs[key]; !ok {
			order = append(order, key)
		}
		jobs[key] = append(jobs[key], item{w, r})
	}
	for _, key := range order {
		items := jobs[key]
		u.queue.start(ctx, key, "resume", time.Now(), func() {
			for _, it := range items {
				u.resumeOne(ctx, it.w, it.r)
			}
		})
	}
}

// listUntilAnswered lists the workloads, retrying while the engine does not answer
// (dockerd restarting with the node). It gives up only when ctx ends.
func (u *Updater) listUntilAnswered(ctx context.Context) ([]Workload, bool) {
	for {
		ws, err := u.workloads(ctx, true)
		if err == nil {
			return ws, true
		}
		u.log.Warn().Err(err).Dur("retry_in", retryList).Msg("list workloads before resuming unfinished rollouts; retrying")
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(retryList):
		}
	}
}

// engineEvidence asks each backend for rollouts the store does not know, and records
// each as running so it is resumed like any other. A digest already
// quarantined for the workload is not taken up again.
func (u *Updater) engineEvidence(ctx context.Context, ws []Workload, known map[string]bool) []Rollout {
	plans := func(w Workload) (Plan, bool) {
		rule, _ := u.policies().For(w.Kind, w.Name, w.Labels)
		if rule == nil {
			return Plan{}, false
		}
		return u.plan(rule.Name), true
	}
	var out []Rollout
	for _, b := range u.backends {
		res, ok := b.(Resumer)
		if !ok {
			continue
		}
		for _, r := range res.Unfinished(ctx, ws, func(key string) bool { return known[key] }, plans) {
			if q, err := u.store.IsQuarantined(r.Workload, registry.DigestOf(r.To)); err != nil || q || recorded(u.store, r) {
				continue
			}
			r.Outcome = Running
			id, err := u.store.Begin(r)
			if err != nil {
				u.log.Error().Err(err).Str("workload", r.Workload).Msg("record a rollout found in the engine")
				continue
			}
			r.ID = id
			known[r.Workload] = true
			u.log.Warn().Str("workload", r.Workload).Str("to", r.To).Str("phase", string(r.Phase)).
				Msg("the engine shows a rollout the store does not know (empty data_dir?); taking it over")
			out = append(out, r)
		}
	}
	return out
}

// recorded reports whether the store already has a record of r's rollout (it ended:
// the engine still shows its traces for a while, a restart soon after must not take it
// up again).
func recorded(store RolloutReader, r Rollout) bool {
	rs, err := store.Rollouts(r.Workload, 0)
	if err != nil {
		return true // cannot tell: do not make a second record
	}
	for _, old := range rs {
		if old.To == r.To {
			return true
		}
	}
	return false
}

// engineSaw says what the engine showed of a rollout the store did not know.
var engineSaw = map[Phase]string{
	PhaseConverging:  "the engine showed it under way",
	PhaseWatching:    "the engine showed it updated within the watch",
	PhaseRollingBack: "the engine showed it rolled back",
}

// resumeOne brings one unfinished rollout to its end and records the true outcome.
func (u *Updater) resumeOne(ctx context.Context, w Workload, r Rollout) {
	log := u.log.With().Str("workload", r.Workload).Str("to", r.To).Uint64("rollout", r.ID).Str("trigger", "resume").Logger()
	phase := r.Phase
	if phase == "" {
		phase = PhaseSubmitted // written by a hoist that kept no phases
	}
	r.Restarts++
	if err := u.store.Put(r); err != nil {
		log.Error().Err(err).Msg("record the restart")
	}
	note := fmt.Sprintf("%s (it was %s)", RestartNote, strings.ReplaceAll(string(phase), "_", " "))
	if r.Trigger == TriggerEngine {
		note = RestartNote + "; its store had no record of it: " + engineSaw[phase]
	}
	log.Warn().Str("phase", string(phase)).Msg("resuming a rollout the previous hoist process left unfinished")
	res := u.resumeResult(ctx, w, r, log)
	if res.Reason != "" {
		note += "; " + res.Reason
	}
	res.Reason = note
	u.end([]Rollout{r}, res, log)
}

func (u *Updater) resumeResult(ctx context.Context, w Workload, r Rollout, log zerolog.Logger) Result {
	pinned, err := registry.ParsePinned(r.To)
	switch {
	case err != nil && strings.HasPrefix(r.Trigger, "manual "):
		return Result{Outcome: Aborted, Reason: "a manual " + strings.TrimPrefix(r.Trigger, "manual ") +
			" was cut short; what it left half-done was recovered from the engine at start"}
	case err != nil:
		return Result{Outcome: Aborted, Reason: fmt.Sprintf("the record's target: %v", err)}
	}
	b, ok := u.backends[w.Kind]
	res, can := b.(Resumer)
	if !ok || !can {
		return Result{Outcome: Aborted, Reason: fmt.Sprintf("no backend here can take over a %s rollout (is this engine still a Swarm manager?)", w.Kind)}
	}
	plan, t := Plan{}, Target{}
	if r.Plan != nil {
		plan = *r.Plan
	} else if rule, _ := u.policies().For(w.Kind, w.Name, w.Labels); rule != nil {
		plan = u.plan(rule.Name)
	}
	tag, err := name.NewTag(pinned.Name(), name.WeakValidation)
	if err == nil {
		var h v1.Hash
		if h, err = v1.NewHash(pinned.Digest()); err == nil {
			t = Target{Tag: tag, Digest: h}
		}
	}
	if err != nil {
		return Result{Outcome: Aborted, Reason: fmt.Sprintf("the record's target %q is not a pinned image: %v", r.To, err)}
	}
	if auth, err := u.resolver.Authenticator(ctx, t.Tag.Context()); err == nil {
		t.RegistryAuth = encodeAuth(auth, t.Tag.Context())
	}
	return res.Resume(ctx, w, r, t, plan, u.journal([]Rollout{r}, log), log)
}
