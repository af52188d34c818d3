// Package policy decides which workloads follow which tags: it matches a workload
// (a Swarm service or a container, by name globs, labels, or the hoist.policy label)
// to a rule, and picks the tag a rule allows (same tag, the newest tag in a semver
// range, or the tag a TagFilter orders first: build numbers, timestamps, dates).
//
// policy is pure: no I/O, and it imports no other hoist package.
package policy
