package policy

import (
	"fmt"
	"path"

	"github.com/Masterminds/semver/v3"
)

// LabelPolicy on a service or container opts it into the named policy, whatever the globs say.
// The value "none" opts it out of every policy.
const LabelPolicy = "hoist.policy"

// Kind is the kind of workload a rule is matched against.
type Kind string

const (
	Service   Kind = "service"
	Container Kind = "container"
)

// Strategy says how a rule picks the next image.
type Strategy string

const (
	// Digest follows the same tag to its newest digest.
	Digest Strategy = "digest"
	// Semver moves to the newest tag inside a semver range.
	Semver Strategy = "semver"
	// Tags moves to the tag a TagFilter orders first (build numbers, timestamps, dates).
	Tags Strategy = "tags"
	// None watches and reports but never changes anything.
	None Strategy = "none"
)

// Rule is one compiled policy.
type Rule struct {
	Name       string
	Services   []string // name globs for Swarm services
	Containers []string // name globs for standalone containers
	Labels     map[string]string
	Update     Strategy
	// Range is set when Update is Semver.
	Range *semver.Constraints
	// Tags is set when Update is Tags.
	Tags *TagFilter
	// When limits when rollouts start (any time, when empty).
	When When
	// Watchtower, when set, makes the rule honour Watchtower's container labels
	// (policy/watchtower.go).
	Watchtower *Watchtower
	// Verify, when set, holds digests until they are signed as the policy requires
	// (policy/verify.go).
	Verify *Verify
	// Gate, when set, is a metric that must stay below a threshold during a soak
	// (When.After) and a canary's hold (policy/gate.go).
	Gate *Gate
}

// NewRule compiles a rule. rangeText is only read for the Semver strategy; a Tags rule
// needs its Tags set before use.
func NewRule(name string, services, containers []string, labels map[string]string, update Strategy, rangeText string) (*Rule, error) {
	r := &Rule{Name: name, Services: services, Containers: containers, Labels: labels, Update: update}
	for _, g := range append(append([]string{}, services...), containers...) {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("policy %s: glob %q: %w", name, g, err)
		}
	}
	switch update {
	case Digest, None, Tags:
	case Semver:
		c, err := semver.NewConstraint(rangeText)
		if err != nil {
			return nil, fmt.Errorf("policy %s: semver range %q: %w", name, rangeText, err)
		}
		r.Range = c
	default:
		return nil, fmt.Errorf("policy %s: unknown update strategy %q", name, update)
	}
	return r, nil
}

// matches reports whether a workload's name and labels select this rule by globs.
func (r *Rule) matches(kind Kind, name string, labels map[string]string) bool {
	if !r.takes(kind, name) || (r.Watchtower != nil && !r.Watchtower.selects(labels)) {
		return false
	}
	for k, v := range r.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// takes reports whether one of r's globs for kind matches name.
func (r *Rule) takes(kind Kind, name string) bool {
	globs := r.Services
	if kind == Container {
		globs = r.Containers
		if r.Watchtower != nil && len(globs) == 0 {
			return true // Watchtower looks at every container
		}
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// Set is the ordered list of rules from one file.
type Set struct {
	rules  []*Rule
	byName map[string]*Rule
}

// NewSet keeps rules in order; the first matching rule wins.
func NewSet(rules ...*Rule) *Set {
	s := &Set{rules: rules, byName: make(map[string]*Rule, len(rules))}
	for _, r := range rules {
		s.byName[r.Name] = r
	}
	return s
}

// Rules returns the rules in file order.
func (s *Set) Rules() []*Rule { return s.rules }

// Get returns the rule with that name.
func (s *Set) Get(name string) (*Rule, bool) {
	r, ok := s.byName[name]
	return r, ok
}

// For picks the rule that governs a workload. The hoist.policy label wins over globs;
// a label naming no known policy matches nothing (the caller reports it).
func (s *Set) For(kind Kind, name string, labels map[string]string) (*Rule, error) {
	if want, ok := labels[LabelPolicy]; ok {
		if want == "none" {
			return nil, nil
		}
		r, ok := s.byName[want]
		if !ok {
			return nil, fmt.Errorf("label %s=%s names no policy in the file", LabelPolicy, want)
		}
		return r, nil
	}
	for _, r := range s.rules {
		if r.matches(kind, name, labels) {
			return r, nil
		}
	}
	return nil, nil
}
