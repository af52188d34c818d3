package config

import (
	"strings"

	"github.com/hoist-dev/hoist/policy"
)

// After makes a policy a later stage of another: a digest reaches this policy's
// workloads only after it succeeded on every workload of Policy and ran there Soak
// long without a rollback (docs/promotion.md).
type After struct {
	Policy string   `yaml:"policy" json:"policy"`
	Soak   Duration `yaml:"soak" json:"soak"`
}

// validateAfter checks every policy's when.after: it names another policy of the file,
// its soak is positive, and no chain of them comes back to where it started.
func validateAfter(v *validator, ps []Policy) {
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
	}
	chain := map[string]string{}
	for i, p := range ps {
		if p.Name == "" {
			continue
		}
		chain[p.Name] = ""
		a := p.When.After
		if a == nil {
			continue
		}
		at := pathf("$.policies[%d].when.after", i)
		switch {
		case a.Policy == "":
			v.addf(at+".policy", "after needs policy: the name of the policy whose workloads get a digest first (staging, say)")
		case a.Policy == p.Name:
			v.addf(at+".policy", "policy %s cannot come after itself", p.Name)
		case !names[a.Policy]:
			v.addf(at+".policy", "after names policy %q, which is not in the file", a.Policy)
		default:
			chain[p.Name] = a.Policy
		}
		if a.Soak.D() <= 0 {
			v.addf(at+".soak", "soak must be more than 0: how long a digest runs on %s's workloads without a rollback before this policy's get it (30m, say)", a.Policy)
		}
	}
	for i, p := range ps {
		if chain[p.Name] != "" && inCycle(chain, p.Name) {
			path := []string{p.Name}
			for at := chain[p.Name]; at != p.Name; at = chain[at] {
				path = append(path, at)
			}
			v.addf(pathf("$.policies[%d].when.after.policy", i), "after makes a cycle (%s → %s): a digest could never reach any of them",
				strings.Join(path, " → "), p.Name)
			return // one report per file: every policy of the cycle would repeat it
		}
	}
}

// inCycle reports whether following chain from n comes back to n.
func inCycle(chain map[string]string, n string) bool {
	seen := map[string]bool{}
	for at := chain[n]; at != ""; at = chain[at] {
		if at == n {
			return true
		}
		if seen[at] {
			return false
		}
		seen[at] = true
	}
	return false
}

// Rule is the policy package's after (nil when a is).
func (a *After) Rule() *policy.After {
	if a == nil {
		return nil
	}
	return &policy.After{Policy: a.Policy, Soak: a.Soak.D()}
}
