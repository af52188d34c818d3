package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Explain says in one short line why no rule governs a workload: opted out by label,
// a rule whose globs take the name but whose labels do not match (the nearest miss),
// or no glob that takes the name at all. It is meant for a workload For returned no
// rule for.
func (s *Set) Explain(kind Kind, name string, labels map[string]string) string {
	if want, ok := labels[LabelPolicy]; ok {
		if want == "none" {
			return "opted out: label " + LabelPolicy + "=none"
		}
		return fmt.Sprintf("label %s=%s names no policy in the file", LabelPolicy, want)
	}
	if len(s.rules) == 0 {
		return "the policy file has no policies"
	}
	for _, r := range s.rules {
		if miss := r.labelMiss(kind, name, labels); miss != "" {
			return "policy " + r.Name + " takes the name but " + miss
		}
	}
	what := "services"
	if kind == Container {
		what = "containers"
	}
	if len(s.rules) == 1 {
		return fmt.Sprintf("the name matches none of policy %s's %s globs", s.rules[0].Name, what)
	}
	return fmt.Sprintf("the name matches none of the %s globs of %d policies", what, len(s.rules))
}

// labelMiss says which of r's labels a workload whose name r's globs take lacks ("" when
// the globs do not take the name, or nothing is missing).
func (r *Rule) labelMiss(kind Kind, name string, labels map[string]string) string {
	if !r.takes(kind, name) {
		return ""
	}
	keys := make([]string, 0, len(r.Labels))
	for k := range r.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var miss []string
	for _, k := range keys {
		got, ok := labels[k]
		switch {
		case !ok:
			miss = append(miss, fmt.Sprintf("wants label %s=%s (not set)", k, r.Labels[k]))
		case got != r.Labels[k]:
			miss = append(miss, fmt.Sprintf("wants label %s=%s (it is %q)", k, r.Labels[k], clip(got, 40)))
		}
	}
	if r.Watchtower != nil {
		if why := r.Watchtower.miss(labels); why != "" {
			miss = append(miss, why)
		}
	}
	return strings.Join(miss, ", ")
}

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
