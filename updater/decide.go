package updater

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// Resolver is what the updater needs from a registry client.
type Resolver interface {
	ParseReference(s string) (name.Reference, error)
	Resolve(ctx context.Context, ref name.Reference) (v1.Descriptor, error)
	ResolveMany(ctx context.Context, refs []name.Reference, concurrency int) map[string]registry.Resolution
	// ListTagsCached lists tags, reusing a list younger than maxAge.
	ListTagsCached(ctx context.Context, repo name.Repository, maxAge time.Duration) ([]string, error)
	// ForgetTags drops a remembered tag list (a push said it changed).
	ForgetTags(repo name.Repository)
	// SamePlatforms compares two digests of a tag for the platforms a workload runs on.
	SamePlatforms(ctx context.Context, repo name.Repository, oldDigest, newDigest v1.Hash, platforms []v1.Platform) (bool, []v1.Platform, error)
	Authenticator(ctx context.Context, repo name.Repository) (authn.Authenticator, error)
}

// Action is what a check concluded for one workload.
type Action string

const (
	UpToDate    Action = "up-to-date"
	WouldUpdate Action = "update"
	Quarantined Action = "quarantined"
	WatchOnly   Action = "watch-only"
	// Equivalent: the tag's index changed, but not for any platform the workload runs on.
	Equivalent Action = "equivalent"
	// Refused: the new digest lacks a platform the workload runs on.
	Refused Action = "refused"
	// Deferred: an update waits for the policy's window or for the digest to age.
	Deferred Action = "deferred"
	// AwaitingApproval: the policy holds new digests until an operator approves them.
	AwaitingApproval Action = "awaiting-approval"
	NoPolicy         Action = "no-policy"
	CheckError       Action = "error"
)

// Status is one workload's state as a check sees it.
type Status struct {
	Workload Workload `json:"workload"`
	Policy   string   `json:"policy,omitempty"`
	// Current is the digest the workload runs, when known.
	Current string `json:"current,omitempty"`
	// Target is the pinned image the policy would move it to.
	Target string `json:"target,omitempty"`
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Choice says how a tags policy chose the target's tag: what it considered, and why
	// that tag won.
	Choice string `json:"choice,omitempty"`
	// NotBefore is when a deferred update may start.
	NotBefore time.Time `json:"not_before,omitzero"`

	// Signature is what the target's signatures showed, when its policy verifies them.
	Signature *Signature `json:"signature,omitempty"`

	target     Target
	rule       *policy.Rule
	quarantine bool            // refused for its signatures: quarantine the digest when recorded
	approved   bool            // its policy holds digests for approval, and this one was approved
	promo      *policy.Verdict // what its policy's when.after concluded (promote.go)
	gate       string          // the metric gate's reading that let it go on, for its record
	tag        name.Tag
	err        error // why a check failed, when it did
}

// imageRef splits an engine image string ("repo:tag@sha256:…", "repo:tag", "repo")
// into the tag it follows and the digest it is pinned to ("" when not pinned).
func imageRef(r Resolver, image string) (name.Tag, string, error) {
	left, digest := image, ""
	if p, err := registry.ParsePinned(image); err == nil {
		left, digest = p.Name(), p.Digest()
	}
	ref, err := r.ParseReference(left)
	if err != nil {
		return name.Tag{}, "", err
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return name.Tag{}, "", fmt.Errorf("image %q is pinned by digest with no tag to follow", image)
	}
	return tag, digest, nil
}

// digestOf returns the digest a workload runs: what the backend reports, or the pin.
func digestOf(w Workload, pinned string) string {
	if w.Digest != "" {
		return w.Digest
	}
	return pinned
}

// sameDigest reports whether s is d's string ("sha256:…") without building that
// string: a cycle asks it of every workload.
func sameDigest(s string, d v1.Hash) bool {
	a := len(d.Algorithm)
	return len(s) == a+1+len(d.Hex) && s[:a] == d.Algorithm && s[a] == ':' && s[a+1:] == d.Hex
}

// decide works out what e's workload should run, under the rule it was matched to.
// known holds digests already resolved in this cycle (by Canonical key); a missing
// entry is resolved now.
func (u *Updater) decide(ctx context.Context, e entry, known map[string]registry.Resolution) Status {
	w, rule := e.w, e.rule
	st := Status{Workload: w}
	if e.ruleErr != nil {
		st.Action, st.Reason = NoPolicy, e.ruleErr.Error()
		return st
	}
	if rule == nil {
		st.Action, st.Reason = NoPolicy, u.policies().Explain(w.Kind, w.Name, w.Labels)
		return st
	}
	st.Policy, st.rule = rule.Name, rule
	if w.Unmanaged != "" {
		st.Action, st.Reason = Refused, w.Unmanaged
		return st
	}
	tag, pinned := e.tag, e.pinned
	if e.tagErr != nil {
		st.Action, st.Reason = CheckError, e.tagErr.Error()
		return st
	}
	st.tag = tag
	st.Current = digestOf(w, pinned)

	want := tag
	if rule.ListsTags() {
		tags, err := u.resolver.ListTagsCached(ctx, tag.Context(), tagListAge)
		if err != nil {
			st.Action, st.Reason, st.err = CheckError, err.Error(), err
			return st
		}
		next, why, ok := rule.Choose(tag.TagStr(), tags)
		if ok {
			want = tag.Context().Tag(next)
		}
		st.Choice = why
	}

	res, ok := known[registry.CanonicalTag(want)]
	if !ok {
		d, err := u.resolver.Resolve(ctx, want)
		res = registry.Resolution{Desc: d, Err: err}
	}
	if res.Err != nil {
		st.Action, st.Reason, st.err = CheckError, res.Err.Error(), res.Err
		if errors.Is(res.Err, registry.ErrNotFound) {
			st.Reason = fmt.Sprintf("%s is not in the registry", want)
		}
		return st
	}
	st.target = Target{Tag: want, Digest: res.Desc.Digest}
	st.Target = st.target.Image()
	if sameDigest(st.Current, res.Desc.Digest) && want.TagStr() == tag.TagStr() {
		st.Action = UpToDate
		return st
	}
	if q, err := u.store.IsQuarantined(w.Key(), res.Desc.Digest.String()); err == nil && q {
		st.Action, st.Reason = Quarantined, "this digest failed before; waiting for a newer one (to try it again: hoist retry "+w.Key()+")"
		return st
	}
	if u.platformsDiffer(ctx, &st, tag, want, res.Desc, w.Platforms) {
		return st
	}
	if rule.Update == policy.None {
		st.Action, st.Reason = WatchOnly, "policy "+rule.Name+" has update: none"
		return st
	}
	if rule.MonitorOnly(w.Labels) {
		st.Action, st.Reason = WatchOnly, availablePrefix+"labelled "+policy.WatchtowerMonitorOnly+"=true"
		return st
	}
	if st.Current == "" {
		st.Reason = "the running digest is unknown; the rollout pins it"
	}
	st.Action = WouldUpdate
	if u.sig.signed(ctx, &st, rule) && u.promoted(&st, rule) {
		u.gate(&st, rule)
	}
	return st
}

// platformsDiffer settles st when the target cannot or need not replace what runs: it
// lacks one of the workload's platforms (Refused), or only an index changed and not the
// image of any platform the workload runs on (Equivalent). Only an index can change for
// one platform and not another; for a plain manifest a new digest is a new image, and
// asking costs GETs the registry may count as pulls. A new tag (semver, tags) must
// cover the workload's platforms too.
func (u *Updater) platformsDiffer(ctx context.Context, st *Status, tag, want name.Tag, target v1.Descriptor, platforms []v1.Platform) bool {
	moved := want.TagStr() != tag.TagStr()
	if st.Current == "" || (!moved && !target.MediaType.IsIndex()) {
		return false
	}
	old, err := v1.NewHash(st.Current)
	if err != nil {
		return false
	}
	same, missing, err := u.resolver.SamePlatforms(ctx, tag.Context(), old, target.Digest, platforms)
	switch {
	case err != nil:
		// Can't compare (old digest gone from the registry, ...): roll out as usual.
		return false
	case len(missing) > 0:
		st.Action, st.Reason = Refused, fmt.Sprintf("%s has no image for %s, which this workload runs on", refusedWhat(moved, want), platformList(missing))
		return true
	case same && !moved:
		st.Action, st.Reason = Equivalent, "the tag's index changed, but not the image of any platform this workload runs on; nothing restarted"
		return true
	}
	return false
}

// gate defers an update the policy's when does not allow yet: the digest is younger
// than min_age, or no window is open.
func (u *Updater) gate(st *Status, rule *policy.Rule) {
	when := rule.When
	if when.Approve {
		key, digest := st.Workload.Key(), st.target.Digest.String()
		if ok, err := u.store.IsApproved(key, digest); !ok || err != nil {
			st.Action = AwaitingApproval
			st.Reason = fmt.Sprintf("policy %s holds new digests for approval: hoist approve %s --digest %s", rule.Name, key, digest)
			return
		}
		st.approved = true
	}
	if when.MinAge <= 0 && len(when.Windows) == 0 {
		return
	}
	now := u.now()
	seen := now
	if when.MinAge > 0 {
		ref := st.target.Tag.Context().Name() + "@" + st.target.Digest.String()
		s, err := u.store.FirstSeen(ref, now)
		if err != nil {
			u.log.Warn().Err(err).Str("digest", ref).Msg("remember when a digest was first seen")
		}
		seen = s
	}
	at := when.Earliest(seen, now)
	if !at.After(now) {
		return
	}
	st.Action, st.NotBefore = Deferred, at
	ripe := seen.Add(when.MinAge)
	if ripe.After(now) {
		st.Reason = fmt.Sprintf("digest first seen %s ago; policy %s waits %s (min_age)", now.Sub(seen).Round(time.Second), rule.Name, when.MinAge)
		if at.After(ripe) {
			st.Reason += ", then for its window (" + when.String() + ")"
		}
	} else {
		st.Reason = fmt.Sprintf("outside policy %s's windows (%s)", rule.Name, when.String())
	}
	st.Reason += "; rolls out from " + at.UTC().Format(time.RFC3339)
}

// tagListAge is how long a semver policy reuses a tag list between checks.
const tagListAge = time.Minute

// refusedWhat names what lacks a platform: the new digest of the same tag, or a new tag.
func refusedWhat(moved bool, want name.Tag) string {
	if moved {
		return "tag " + want.TagStr()
	}
	return "the new digest"
}

func platformList(ps []v1.Platform) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}
