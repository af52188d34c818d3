package policy

import (
	"fmt"
	"sort"
	"time"
)

// After makes a policy a later stage of another: a digest becomes eligible for its
// workloads only once it succeeded on every workload of policy Policy and ran there
// Soak long without a rollback.
type After struct {
	Policy string
	Soak   time.Duration
}

// Stage is what is known of one digest on the workloads of an earlier stage's policy.
type Stage struct {
	// Workloads are the earlier stage's workloads now (keys).
	Workloads []string
	// Since holds, for each workload that rolled the digest out (or was found running
	// it), when it did.
	Since map[string]time.Time
	// Failed says why the digest is refused: rolled back or quarantined on a workload
	// of the earlier stage, or held by a metric gate during the soak ("" when not).
	Failed string
}

// Verdict is what an After concluded for one digest.
type Verdict struct {
	// Eligible: the soak passed; the later stage's own when (approve, windows) applies.
	Eligible bool
	// Failed: the digest failed in the earlier stage; it never becomes eligible.
	Failed bool
	// SoakStarted: every workload of the earlier stage runs it; the soak clock runs.
	SoakStarted bool
	// Ends is when the soak passes (zero before it started).
	Ends time.Time
	// Text says why it waits: "waiting for staging (soak 12m left)".
	Text string
}

// Judge decides at now whether a digest in stage s may go on to a's policy. Pure: the
// caller reads s from its store and listing.
func (a After) Judge(s Stage, now time.Time) Verdict {
	if s.Failed != "" {
		return Verdict{Failed: true, Text: fmt.Sprintf("failed in %s: %s", a.Policy, s.Failed)}
	}
	if len(s.Workloads) == 0 {
		return Verdict{Text: fmt.Sprintf("waiting for %s (no workload follows policy %s)", a.Policy, a.Policy)}
	}
	var missing []string
	var last time.Time
	for _, w := range s.Workloads {
		t, ok := s.Since[w]
		if !ok {
			missing = append(missing, w)
			continue
		}
		if t.After(last) {
			last = t
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Verdict{Text: fmt.Sprintf("waiting for %s (%d of %d workloads run it; not yet %s)",
			a.Policy, len(s.Workloads)-len(missing), len(s.Workloads), missing[0])}
	}
	ends := last.Add(a.Soak)
	v := Verdict{SoakStarted: true, Ends: ends}
	if !ends.After(now) {
		v.Eligible = true
		v.Text = fmt.Sprintf("soaked %s in %s", a.Soak, a.Policy)
		return v
	}
	v.Text = fmt.Sprintf("waiting for %s (soak %s left)", a.Policy, Left(ends.Sub(now)))
	return v
}

// Left writes a remaining time the way people read it: "12m", "1h5m", "8s".
func Left(d time.Duration) string {
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%ds", int((d + time.Second - 1).Seconds()))
	}
}

// StageOrder returns the policies in the order their stages run (an earlier stage before
// the policies that name it in after), or an error naming a cycle or a policy that
// does not exist. after maps a policy to the policy its after names ("" for none).
func StageOrder(after map[string]string) ([]string, error) {
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	state := map[string]int{} // 1: visiting, 2: done
	var out []string
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("after makes a cycle: %s", joinArrow(append(path, n)))
		case 2:
			return nil
		}
		state[n] = 1
		if prev := after[n]; prev != "" {
			if _, ok := after[prev]; !ok {
				return fmt.Errorf("policy %s: after names policy %q, which does not exist", n, prev)
			}
			if err := visit(prev, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func joinArrow(ns []string) string {
	s := ""
	for i, n := range ns {
		if i > 0 {
			s += " → "
		}
		s += n
	}
	return s
}
