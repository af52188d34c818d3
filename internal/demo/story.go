package demo

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// story tells steps 1 to 3 as they happen, from hoist's API and the engine.
func (d *demoRun) story(ctx context.Context) error {
	d.heading("1. A new version: v2 is pushed")
	r, err := d.pushAndFollow(ctx, "v2")
	if err != nil {
		return err
	}
	if r.Outcome == updater.Succeeded {
		d.res.firstRollout = r.Ended.Sub(d.start)
		d.p.Printf("  first completed rollout: %.1fs after the command", d.res.firstRollout.Seconds())
	}
	d.checkpoint("rollout")

	d.heading("2. A bad version: v3 crashes 8 s after it starts")
	if _, err := d.pushAndFollow(ctx, "v3"); err != nil {
		return err
	}
	if err := d.quarantined(ctx, "v3"); err != nil {
		return err
	}
	if err := d.pushAgain(ctx, "v3"); err != nil {
		return err
	}
	d.checkpoint("rollback")

	d.heading("3. A policy that asks first: when.approve")
	return d.approveStep(ctx, "v4")
}

func (d *demoRun) heading(s string) { d.p.Printf("\n%s", s) }

// pushAndFollow pushes version v, tells how hoist hears of it, and follows the
// rollout it starts to its end.
func (d *demoRun) pushAndFollow(ctx context.Context, v string) (updater.Rollout, error) {
	prev, err := d.newestID(ctx)
	if err != nil {
		return updater.Rollout{}, err
	}
	if err := d.push(ctx, v); err != nil {
		return updater.Rollout{}, err
	}
	r, err := d.waitRecord(ctx, prev, time.Minute)
	if err != nil {
		return r, err
	}
	d.sayAsked(r.Started)
	d.sayStart(r)
	return d.follow(ctx, r)
}

// sayAsked tells when hoist asked the registry for the tag's digest, after the last
// push and before t: the webhook is only a hint.
func (d *demoRun) sayAsked(t time.Time) {
	for _, n := range d.reg.Notes(d.pushNote) {
		if n.Kind == TagAsked && !strings.Contains(n.Agent, PushAgent) && !n.At.After(t) {
			d.sayAt(n.At, "hoist asked the registry itself what %q points at (HEAD /v2/%s/manifests/%s)", n.Ref, n.Repo, n.Ref)
			return
		}
	}
}

// push pushes v and waits for the registry's webhook to reach hoist.
func (d *demoRun) push(ctx context.Context, v string) error {
	notes := len(d.reg.Notes(0))
	d.pushNote = notes
	dg, err := Push(ctx, d.ref(), d.images[v])
	if err != nil {
		return err
	}
	d.say("pushed %s as %s (%s)", v, d.ref(), short(dg.String()))
	return d.waitNotified(ctx, notes)
}

// waitNotified waits for the registry's notification of a push seen after note n.
func (d *demoRun) waitNotified(ctx context.Context, n int) error {
	d.p.Live("waiting for the registry's webhook")
	defer d.p.Done()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, note := range d.reg.Notes(n) {
			if note.Kind != Notified {
				continue
			}
			if note.Status < 200 || note.Status > 299 {
				return fmt.Errorf("the registry's webhook to hoist failed (HTTP %d); hoist's log: %s/hoist.log", note.Status, d.dir)
			}
			d.p.Done()
			d.sayAt(note.At, "the registry's webhook reached hoist: POST /webhooks/distribution → %d", note.Status)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the registry's webhook did not reach hoist within 20s")
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func (d *demoRun) newestID(ctx context.Context) (uint64, error) {
	r, _, err := newest(ctx, d.hoist.api, d.wl.key())
	return r.ID, err
}

// waitRecord waits for a rollout record newer than prev, and tells when hoist asked
// the registry for the tag's digest on its way.
func (d *demoRun) waitRecord(ctx context.Context, prev uint64, timeout time.Duration) (updater.Rollout, error) {
	d.p.Live("waiting for hoist to act")
	defer d.p.Done()
	deadline := time.Now().Add(timeout)
	for {
		r, ok, err := newest(ctx, d.hoist.api, d.wl.key())
		if err != nil {
			return r, err
		}
		if ok && r.ID > prev {
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("hoist started no rollout within %s; its log: %s/hoist.log", timeout, d.dir)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return r, err
		}
	}
}

func (d *demoRun) sayStart(r updater.Rollout) {
	d.sayAt(r.Started, "rollout #%d started: %s → %s (trigger %s, resolved by hoist: %s)", r.ID, d.version(r.From), d.version(r.To), r.Trigger, short(registry.DigestOf(r.To)))
	if r.Order != "" {
		d.sayAt(r.Started, "order: %s", r.Order)
	}
}

// follow reads the record (and the engine's replicas) until the rollout ends, and
// tells each change.
func (d *demoRun) follow(ctx context.Context, r updater.Rollout) (updater.Rollout, error) {
	key, v := d.wl.key(), d.version(r.To)
	phase, count := r.Phase, -1
	var rollingBack time.Time
	deadline := time.Now().Add(6 * time.Minute)
	defer d.p.Done()
	for {
		cur, err := d.record(ctx, key, r.ID)
		if err != nil {
			return cur, err
		}
		if cur.Phase != phase {
			phase = cur.Phase
			switch phase {
			case updater.PhaseWatching:
				d.p.Done()
				if s := d.wl.engineSays(ctx); s != "" {
					d.sayAt(cur.PhaseAt, "%s", s)
				}
				d.sayAt(cur.PhaseAt, "hoist keeps watching %s for %s (health.watch)", v, demoWatch)
			case updater.PhaseRollingBack:
				rollingBack = cur.PhaseAt
				d.p.Done()
				what := d.wl.failure(ctx, cur.To, cur.Started)
				if what == "" {
					what = "a replica of " + v + " failed"
				}
				d.sayAt(cur.PhaseAt, "hoist caught it: %s", what)
				d.sayAt(cur.PhaseAt, "rolling back to %s", d.version(cur.From))
			}
		}
		if cur.Outcome != updater.Running && cur.Outcome != "" {
			d.p.Done()
			d.sayEnd(cur, rollingBack)
			return cur, nil
		}
		switch phase {
		case updater.PhaseSubmitted, updater.PhaseConverging:
			n, want, err := d.wl.running(ctx, cur.To)
			if err == nil && n != count {
				if n > 0 {
					d.say("%s", d.wl.replicas(n, want, v))
				}
				count = n
			}
			d.p.Live(fmt.Sprintf("rolling out %s", v))
		case updater.PhaseWatching:
			d.p.Live(fmt.Sprintf("hoist watches %s until %s", v, d.elapsed(cur.WatchUntil)))
		case updater.PhaseRollingBack:
			d.p.Live("rolling back to " + d.version(cur.From))
		}
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("rollout #%d did not end within 6 minutes", cur.ID)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return cur, err
		}
	}
}

// record returns the workload's record id.
func (d *demoRun) record(ctx context.Context, key string, id uint64) (updater.Rollout, error) {
	rs, err := d.hoist.api.Rollouts(ctx, key, 5)
	if err != nil {
		return updater.Rollout{}, err
	}
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
	}
	return updater.Rollout{}, fmt.Errorf("rollout #%d is not among %s's records", id, key)
}

func (d *demoRun) sayEnd(r updater.Rollout, rollingBack time.Time) {
	took := r.Ended.Sub(r.Started).Seconds()
	switch r.Outcome {
	case updater.Succeeded:
		d.sayAt(r.Ended, "succeeded: %s runs %s (rollout #%d took %.1fs, watch included)", d.wl.key(), d.version(r.To), r.ID, took)
	case updater.RolledBack:
		if rollingBack.IsZero() { // caught and undone between two looks
			d.sayAt(r.Ended, "hoist caught it and rolled back: %s runs %s again (rollout #%d took %.1fs)", d.wl.key(), d.version(r.From), r.ID, took)
		} else {
			d.sayAt(r.Ended, "rolled back: %s runs %s again, %.1fs after hoist caught the failure", d.wl.key(), d.version(r.From), r.Ended.Sub(rollingBack).Seconds())
		}
		d.sayAt(r.Ended, "hoist's record says: %s", r.Reason)
	default:
		d.sayAt(r.Ended, "rollout #%d ended %s: %s", r.ID, r.Outcome, r.Reason)
	}
}

// quarantined tells whether hoist quarantined v for the workload.
func (d *demoRun) quarantined(ctx context.Context, v string) error {
	st, err := d.hoist.api.Workload(ctx, d.wl.key())
	if err != nil {
		return err
	}
	for _, q := range st.Quarantined {
		if q.Digest == d.digests[v] {
			d.sayAt(q.Since, "%s is quarantined for %s (GET /api/v1/workloads): hoist will not try it again", v, d.wl.key())
			return nil
		}
	}
	d.say("%s is not quarantined", v)
	return nil
}

// pushAgain pushes v again and shows that hoist does nothing with it.
func (d *demoRun) pushAgain(ctx context.Context, v string) error {
	prev, err := d.newestID(ctx)
	if err != nil {
		return err
	}
	notes := len(d.reg.Notes(0))
	if err := Repush(ctx, d.ref(), d.images[v]); err != nil {
		return err
	}
	d.say("pushed %s again (the same image, so the same digest)", v)
	if err := d.waitNotified(ctx, notes); err != nil {
		return err
	}
	d.p.Live("giving hoist 3s to act on it")
	err = sleepCtx(ctx, 3*time.Second)
	d.p.Done()
	if err != nil {
		return err
	}
	now, err := d.newestID(ctx)
	if err != nil {
		return err
	}
	st, err := d.hoist.api.Workload(ctx, d.wl.key())
	if err != nil {
		return err
	}
	if now != prev {
		d.say("hoist started rollout #%d", now)
		return nil
	}
	d.say("ignored: no rollout; hoist says %s: %s", st.Action, st.Reason)
	return nil
}

// approveStep edits hoist.yaml to add when.approve and has the running hoist reload
// it (SIGHUP), pushes v, shows it held, approves it (--yes, Enter, or hoist approve
// from another terminal) and follows its rollout.
func (d *demoRun) approveStep(ctx context.Context, v string) error {
	d.p.Live("editing hoist.yaml and reloading hoist")
	took, err := d.reloadHoist(ctx)
	d.p.Done()
	if err != nil {
		return err
	}
	d.say("hoist reloaded its configuration in %s after an edit of hoist.yaml (`when: { approve: true }`", took.Round(time.Millisecond))
	d.say("in policy demo) and a SIGHUP; it was not restarted (GET /api/v1/config/status: success)")
	prev, err := d.newestID(ctx)
	if err != nil {
		return err
	}
	if err := d.push(ctx, v); err != nil {
		return err
	}
	key, dg := d.wl.key(), d.digests[v]
	d.p.Live("waiting for hoist to decide")
	var st apiclient.Workload
	err = demoWait(ctx, 30*time.Second, func() (bool, error) {
		st, err = d.hoist.api.Workload(ctx, key)
		return err == nil && st.Action == updater.AwaitingApproval && registry.DigestOf(st.Target) == dg, nil
	}, func() string { return fmt.Sprintf("hoist says %s: %s", st.Action, st.Reason) })
	d.p.Done()
	if err != nil {
		return fmt.Errorf("%s not held for approval: %w", v, err)
	}
	d.sayAsked(time.Now())
	d.say("held: %s waits for approval (GET /api/v1/workloads: %s)", v, st.Action)
	d.p.Printf("           approve it with:\n             %s approve %s --config %s \\\n               --digest %s", d.opt.Binary, key, d.cfgPath(), dg)
	d.checkpoint("held")

	switch {
	case d.opt.Yes:
		d.say("--yes: the demo approves it: POST %s", approvePath(key, short(dg)))
		if _, err := d.hoist.api.Approve(ctx, key, dg); err != nil {
			return err
		}
	default:
		if !d.waitApproval(ctx, prev, key, dg) {
			return ctx.Err()
		}
	}
	r, err := d.waitRecord(ctx, prev, time.Minute)
	if err != nil {
		return err
	}
	d.sayStart(r)
	if _, err := d.follow(ctx, r); err != nil {
		return err
	}
	d.checkpoint("approved")
	return nil
}

// waitApproval waits for an approval from another terminal or, when stdin is a
// terminal, for Enter here. It reports false when none came.
func (d *demoRun) waitApproval(ctx context.Context, prev uint64, key, dg string) bool {
	enter := make(chan struct{}, 1)
	hint := "run that command in another terminal"
	if d.opt.Stdin != nil && IsTerminal(d.opt.Stdin) {
		hint = "press Enter to approve it from here, or " + hint
		go func() {
			if _, err := bufio.NewReader(d.opt.Stdin).ReadString('\n'); err == nil {
				enter <- struct{}{}
			}
		}()
	}
	d.p.Printf("           %s (waiting up to %s)", hint, strings.TrimSuffix(d.opt.ApproveWait.String(), "0s"))
	d.p.Live("waiting for your approval")
	defer d.p.Done()
	deadline := time.Now().Add(d.opt.ApproveWait)
	for time.Now().Before(deadline) {
		select {
		case <-enter:
			d.p.Done()
			d.say("approved here: POST %s", approvePath(key, short(dg)))
			if _, err := d.hoist.api.Approve(ctx, key, dg); err != nil {
				d.say("approval refused: %v", err)
				return false
			}
			return true
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
		if id, err := d.newestID(ctx); err == nil && id > prev {
			d.p.Done()
			d.say("approved (hoist approve)")
			return true
		}
	}
	d.say("not approved within %s; it stays held", d.opt.ApproveWait)
	return false
}

// summary tells what hoist recorded and what the sampler measured.
func (d *demoRun) summary(ctx context.Context) {
	d.res.avail = d.sampler.Stop()
	d.sampler = nil
	key := d.wl.key()
	rs, err := d.hoist.api.Rollouts(ctx, key, 0)
	if err != nil {
		d.p.Printf("  %v", err)
	}
	slices.Reverse(rs)
	d.res.rollouts = rs
	d.heading("4. What happened, as hoist recorded it (GET /api/v1/rollouts)")
	for _, r := range rs {
		d.p.Printf("  #%d  %s → %s  by %-12s %-11s %5.1fs", r.ID, d.version(r.From), d.version(r.To), r.Trigger, r.Outcome, r.Ended.Sub(r.Started).Seconds())
	}
	if st, err := d.hoist.api.Workload(ctx, key); err == nil {
		for _, q := range st.Quarantined {
			d.p.Printf("  quarantined: %s (%s)", d.versionOf(q.Digest), short(q.Digest))
		}
	}
	a := d.res.avail
	d.p.Printf("  The app answered %d of %d requests (%.1f%%): a GET every 200 ms, each on a new connection,", a.Answered, a.Sampled, 100*a.Ratio())
	d.p.Printf("  for %.0fs, from before the first push to the end.%s", a.Until.Sub(a.Since).Seconds(), d.missSpans(a))
	d.res.total = time.Since(d.start)
	d.p.Printf("  First completed rollout %.1fs after the command; the whole demo took %.1fs.", d.res.firstRollout.Seconds(), d.res.total.Seconds())
}

// missSpans names when requests went unanswered, in runs of misses less than a
// second apart.
func (d *demoRun) missSpans(a Availability) string {
	if len(a.Misses) == 0 {
		return ""
	}
	var spans []string
	from, to, n := a.Misses[0], a.Misses[0], 0
	flush := func() {
		spans = append(spans, fmt.Sprintf("%d at %.1f–%.1fs", n, from.Sub(d.start).Seconds(), to.Sub(d.start).Seconds()))
	}
	for _, m := range a.Misses {
		if m.Sub(to) > time.Second {
			flush()
			from, n = m, 0
		}
		to = m
		n++
	}
	flush()
	if len(spans) > 4 {
		spans = append(spans[:4], "…")
	}
	return "\n  Unanswered: " + strings.Join(spans, ", ") + "."
}

// version names the demo version an image string runs ("v2"), by its digest.
func (d *demoRun) version(image string) string {
	if image == d.ref() {
		return "v1" // the container was started from the tag while it was v1
	}
	return d.versionOf(registry.DigestOf(image))
}

// versionOf names the demo version a digest is ("v2"), or shows the digest short.
func (d *demoRun) versionOf(dg string) string {
	for v, x := range d.digests {
		if x == dg {
			return v
		}
	}
	return short(dg)
}

// short is a digest cut to its first 12 hex digits.
func short(dg string) string {
	if len(dg) > len("sha256:")+12 {
		return dg[:len("sha256:")+12] + "…"
	}
	return dg
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
