package policy

import (
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Newest returns the newest tag in tags that the rule's range allows and that is newer
// than current (when current is itself a version). Tags that are not versions are
// ignored; a "v" prefix is allowed. Pre-releases are only picked when the range names
// one (Masterminds semantics).
//
// A tag's variant is kept: from "1.25.3-alpine" hoist moves to "1.25.4-alpine", never
// to "1.25.4" or "1.25.4-bookworm", and from a tag with no variant never to one with.
// A suffix that reads as a pre-release ("-rc.1", "-beta2") is not a variant. ok is
// false when nothing qualifies.
func (r *Rule) Newest(current string, tags []string) (tag string, ok bool) {
	if r.Range == nil {
		return "", false
	}
	curCore, variant := splitVariant(current)
	cur, curErr := semver.NewVersion(curCore)
	var best *semver.Version
	for _, t := range tags {
		core, v2 := splitVariant(t)
		if v2 != variant {
			continue
		}
		v, err := semver.NewVersion(core)
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

var (
	// versioned is a version ("1", "1.25", "v1.25.3") and what follows its first "-".
	versioned = regexp.MustCompile(`^(v?\d+(?:\.\d+){0,2})-(.+)$`)
	// prePart is a suffix's pre-release ("rc.1", "beta2", a build number "1") and the
	// variant after it, if any ("rc.1-alpine").
	prePart = regexp.MustCompile(`(?i)^((?:alpha|beta|rc|pre|preview|dev|snapshot|canary|next)(?:\.?\d+)*|\d+(?:\.\d+)*)(?:-(.+))?$`)
)

// splitVariant splits a tag into the version semver compares and its variant:
// "1.25.3-alpine" → "1.25.3", "alpine"; "1.26.1-rc.1-alpine" → "1.26.1-rc.1", "alpine";
// "1.26.1-rc.1" → "1.26.1-rc.1", "". Tags that are not versions come back whole.
func splitVariant(tag string) (core, variant string) {
	m := versioned.FindStringSubmatch(tag)
	if m == nil {
		return tag, ""
	}
	if p := prePart.FindStringSubmatch(m[2]); p != nil {
		return m[1] + "-" + p[1], strings.ToLower(p[2])
	}
	return m[1], strings.ToLower(m[2])
}
