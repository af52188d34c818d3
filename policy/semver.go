package policy

import (
	"github.com/Masterminds/semver/v3"
)

// Newest returns the newest tag in tags that the rule's range allows and that is newer
// than current (when current is itself a version). Tags that are not versions are
// ignored; a "v" prefix is allowed. Pre-releases are only picked when the range names
// one (Masterminds semantics). ok is false when nothing qualifies.
func (r *Rule) Newest(current string, tags []string) (tag string, ok bool) {
	if r.Range == nil {
		return "", false
	}
	cur, curErr := semver.NewVersion(current)
	var best *semver.Version
	for _, t := range tags {
		v, err := semver.NewVersion(t)
		if err != nil || !r.Range.Check(v) {
			continue
		}
		if curErr == nil && !v.GreaterThan(cur) {
			continue
		}
		// Among equal versions ("1.4.2" and "v1.4.2") keep the first seen.
		if best == nil || v.GreaterThan(best) {
			best, tag = v, t
		}
	}
	return tag, best != nil
}
