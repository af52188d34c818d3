package updater

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// Promotion between policies (when.after): a digest reaches a later stage's workloads
// only once it succeeded on every workload of the earlier stage's policy and ran there
// its soak without a rollback. What that takes is read from the store: the earlier
// stage's rollout records (when each ended, succeeded), their quarantines (a rollback
// there refuses the digest here too) and, for a workload found running the digest
// without a record, when hoist first saw it do so. A restarted hoist reads the same
// clock. While the soak runs, the later policy's metric gate (Gate) is asked every
// gate.every; a crossing quarantines the digest for the later stage's workloads.

// AwaitingPromotion: the policy comes after another (when.after) and the digest has not
// yet passed its soak there (or the metric gate has not answered since it did).
const AwaitingPromotion Action = "awaiting-promotion"

// Gate is a metric gate as the updater asks it (package gate's Prometheus is one).
type Gate interface {
	Check(ctx context.Context) (ok bool, reason string, err error)
}

// promotions holds the metric gates and their last readings.
type promotions struct {
	mu       sync.Mutex
	makeGate func(policy.Gate) (Gate, error)
	gates    map[policy.Gate]Gate
	readings map[string]reading // by policy@digest
	// succeeded caches, by workload then digest, whether the newest record of the digest
	// on the workload is a success (reading it scans the records: 70 ms over 10,000 on a
	// loaded machine); a record of the workload written drops its entries.
	succeeded map[string]map[string]success
	// ended counts the records written: an answer read while one was is not kept.
	ended uint64
}

// success is a cached answer of succeededOn.
type success struct {
	at       time.Time
	ok       bool
	recorded bool // a record of the digest exists (running, ended however)
}

// maxSucceeded bounds the workloads whose answers are cached.
const maxSucceeded = 10000

// reading is the last answer of a policy's gate for a digest.
type reading struct {
	at     time.Time
	ok     bool
	reason string // the query and its value
	err    error  // the gate could not be asked
}

// UseGates sets how a policy's gate spec becomes a Gate (internal/app: package gate).
// Without it, a policy with a gate holds its promotions, saying why.
func (u *Updater) UseGates(mk func(policy.Gate) (Gate, error)) {
	u.prom.mu.Lock()
	defer u.prom.mu.Unlock()
	u.prom.makeGate, u.prom.gates = mk, map[policy.Gate]Gate{}
}

// promoted is decide's step for a policy that comes after another: it reports whether
// st's target may go on (to approve, windows), and settles st when it may not.
func (u *Updater) promoted(st *Status, rule *policy.Rule) bool {
	a := rule.When.After
	if a == nil {
		return true
	}
	digest := st.target.Digest.String()
	now := u.now()
	v := a.Judge(u.stageOf(a.Policy, digest, now), now)
	st.promo = &v
	switch {
	case v.Failed:
		st.Action = Quarantined
		st.Reason = v.Text + "; refused here too (to try it again: hoist retry the workload of " + a.Policy + ")"
		return false
	case !v.Eligible:
		st.Action, st.Reason, st.NotBefore = AwaitingPromotion, v.Text, v.Ends
		return false
	case rule.Gate == nil:
		return true
	}
	r, ok := u.lastReading(rule.Name, digest)
	switch {
	case !ok || r.at.Before(v.Ends):
		st.Action, st.Reason, st.NotBefore = AwaitingPromotion, fmt.Sprintf("soaked in %s; asking the metric gate", a.Policy), now
		return false
	case r.err != nil:
		st.Action, st.Reason, st.NotBefore = AwaitingPromotion, fmt.Sprintf("soaked in %s; the metric gate could not be asked: %v", a.Policy, r.err), now
		return false
	}
	st.gate = r.reason
	return true
}

// stageOf reads what the store and the last listing show of digest on the workloads of
// the policy named name.
func (u *Updater) stageOf(name, digest string, now time.Time) policy.Stage {
	s := policy.Stage{Since: map[string]time.Time{}}
	l := u.listed.Load()
	if l == nil {
		return s
	}
	for _, e := range l.entries {
		if e.rule == nil || e.rule.Name != name {
			continue
		}
		k := e.w.Key()
		s.Workloads = append(s.Workloads, k)
		if why := u.failedOn(k, digest); why != "" && s.Failed == "" {
			s.Failed = k + ": " + why
		}
		sc := u.succeededOn(k, digest)
		if sc.ok {
			s.Since[k] = sc.at
			continue
		}
		if !sc.recorded && digestOf(e.w, e.pinned) == digest {
			// Running it without a record of hoist's (deployed so, or the record is
			// gone): the soak counts from when hoist first saw it run there. One
			// under way (or ended otherwise) counts only once it succeeded.
			at, err := u.store.FirstSeen("stage "+k+"@"+digest, now)
			if err != nil {
				u.log.Warn().Err(err).Str("workload", k).Msg("remember when a workload was first seen running a digest")
			}
			s.Since[k] = at
		}
	}
	return s
}

// failedOn says why digest is quarantined for workload ("" when it is not).
func (u *Updater) failedOn(workload, digest string) string {
	if q, err := u.store.IsQuarantined(workload, digest); err != nil || !q {
		return ""
	}
	qs, _ := u.store.Quarantines(workload)
	for _, q := range qs {
		if q.Digest == digest {
			return q.Reason
		}
	}
	return "quarantined"
}

// stageLookback is how many of a workload's newest records are searched for the
// rollout of a digest.
const stageLookback = 50

// succeededOn says whether the newest record of digest on workload is a success, and
// when it ended.
func (u *Updater) succeededOn(workload, digest string) success {
	p := &u.prom
	p.mu.Lock()
	if s, ok := p.succeeded[workload][digest]; ok {
		p.mu.Unlock()
		return s
	}
	gen := p.ended
	p.mu.Unlock()
	rs, err := u.store.Rollouts(workload, stageLookback)
	if err != nil {
		return success{recorded: true} // unknown: neither a success nor a sighting
	}
	var s success
	for _, r := range rs {
		if strings.HasSuffix(r.To, "@"+digest) {
			s = success{at: r.Ended, ok: r.Outcome == Succeeded, recorded: true}
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.ended {
		return s
	}
	if p.succeeded == nil || len(p.succeeded) >= maxSucceeded {
		p.succeeded = map[string]map[string]success{}
	}
	if p.succeeded[workload] == nil {
		p.succeeded[workload] = map[string]success{}
	}
	p.succeeded[workload][digest] = s
	return s
}

// awaitPromotion is what a job does for a workload awaiting promotion: while the soak
// runs it asks the policy's gate every gate.every (a crossing quarantines the digest
// here), and it has the job checked again when the soak passes. Before the soak
// started nothing is set: the earlier stage's rollouts requeue this job as they end.
func (u *Updater) awaitPromotion(ctx context.Context, e entry, st Status) {
	v, rule := st.promo, st.rule
	if v == nil || rule == nil || rule.When.After == nil {
		return
	}
	digest := st.target.Digest.String()
	if u.firstTime(fmt.Sprintf("promotion/%s@%s/%v", e.w.Key(), digest, v.SoakStarted)) {
		u.log.Info().Str("workload", e.w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
	}
	if !v.SoakStarted {
		return
	}
	now := u.now()
	at := v.Ends
	if g := rule.Gate; g != nil {
		r := u.askGate(ctx, rule, digest, v.Ends, now)
		if r.err == nil && !r.ok {
			u.gateCrossed(e.w, st, r)
			return
		}
		every := g.Every
		if every <= 0 {
			every = policy.DefaultGateEvery
		}
		if next := now.Add(every); next.Before(at) || !at.After(now) {
			at = next
		}
		if !v.Ends.After(now) && r.err == nil {
			at = now // soaked, and the gate answered since: go on now
		}
	}
	u.recheckAt(e.key, at.Add(100*time.Millisecond), TriggerPromote)
}

// askGate asks rule's gate about digest when its last reading is due (older than
// gate.every, or taken before the soak ended), and returns the reading in force.
func (u *Updater) askGate(ctx context.Context, rule *policy.Rule, digest string, ends, now time.Time) reading {
	g := *rule.Gate
	every := g.Every
	if every <= 0 {
		every = policy.DefaultGateEvery
	}
	if r, ok := u.lastReading(rule.Name, digest); ok && now.Sub(r.at) < every && !(r.at.Before(ends) && !ends.After(now)) {
		return r
	}
	r := reading{at: now}
	gate, err := u.gateFor(g)
	if err == nil {
		r.ok, r.reason, err = gate.Check(ctx)
	}
	r.err = err
	u.prom.mu.Lock()
	if u.prom.readings == nil {
		u.prom.readings = map[string]reading{}
	}
	u.prom.readings[rule.Name+"@"+digest] = r
	u.prom.mu.Unlock()
	ev := u.log.Debug()
	if err != nil {
		ev = u.log.Warn().Err(err)
	}
	ev.Str("policy", rule.Name).Str("digest", digest).Bool("ok", r.ok).Msg("metric gate: " + r.reason)
	return r
}

// gateFor returns the Gate of spec g, made once.
func (u *Updater) gateFor(g policy.Gate) (Gate, error) {
	u.prom.mu.Lock()
	defer u.prom.mu.Unlock()
	if u.prom.makeGate == nil {
		return nil, fmt.Errorf("this hoist asks no metric gate")
	}
	if gt, ok := u.prom.gates[g]; ok {
		return gt, nil
	}
	gt, err := u.prom.makeGate(g)
	if err != nil {
		return nil, err
	}
	u.prom.gates[g] = gt
	return gt, nil
}

func (u *Updater) lastReading(policy, digest string) (reading, bool) {
	u.prom.mu.Lock()
	defer u.prom.mu.Unlock()
	r, ok := u.prom.readings[policy+"@"+digest]
	return r, ok
}

// gateCrossed records that the gate crossed its threshold while the digest soaked,
// and quarantines the digest for w.
func (u *Updater) gateCrossed(w Workload, st Status, r reading) {
	now := u.now()
	rec := Rollout{Workload: w.Key(), From: w.Image, To: st.Target, Trigger: string(TriggerPromote), Started: now, Ended: now,
		Outcome: RefusedOutcome, Gate: r.reason,
		Reason: fmt.Sprintf("metric gate of policy %s crossed while it soaked in %s: %s", st.Policy, st.rule.When.After.Policy, r.reason)}
	id, err := u.store.Add(rec)
	if err != nil {
		u.log.Error().Err(err).Msg("record a promotion the metric gate held")
	}
	rec.ID = id
	st.quarantine = true
	u.quarantineRefused(rec, st)
	u.log.Warn().Str("workload", w.Key()).Str("target", st.Target).Msg(rec.Reason)
	u.onRecord(rec)
	u.changedRollout(rec)
}

// stageEnded has the jobs of the policies that come after r's workload's policy
// checked again once a rollout of it ended: a success may start their soak, a failure
// refuses the digest there too.
func (u *Updater) stageEnded(r Rollout) {
	u.prom.mu.Lock() // any record of the workload written: read its records again
	delete(u.prom.succeeded, r.Workload)
	u.prom.ended++
	u.prom.mu.Unlock()
	switch r.Outcome {
	case Succeeded, RolledBack, Failed:
	default:
		return
	}
	l := u.listed.Load()
	if l == nil {
		return
	}
	e, ok := l.find(r.Workload)
	if !ok || e.rule == nil {
		return
	}
	u.requeueAfter(l, e.rule.Name)
}

// requeueAfter requeues the jobs of the workloads whose policy comes after the policy
// named name ("" : after any), with the promote trigger.
func (u *Updater) requeueAfter(l *listing, name string) {
	done := map[string]bool{}
	for _, o := range l.entries {
		if o.rule == nil || o.rule.When.After == nil || done[o.key] || (name != "" && o.rule.When.After.Policy != name) {
			continue
		}
		done[o.key] = true
		u.requeue(o.key, TriggerPromote, time.Now())
	}
}

// promoteOnStart has every workload of a later stage checked once at start: a soak
// that began before a restart ends on time without a poll or a push.
func (u *Updater) promoteOnStart() {
	if l := u.listed.Load(); l != nil {
		u.requeueAfter(l, "")
	}
}
