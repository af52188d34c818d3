package updater

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// Signatures checks whether a digest is signed as a policy requires (internal/app wires
// the verify package). An error means the registry could not be read: no verdict.
type Signatures interface {
	Verify(ctx context.Context, signers *policy.Verify, repo name.Repository, digest v1.Hash) (Signature, error)
}

// Signature is a verdict on a digest's signatures.
type Signature struct {
	State SignatureState `json:"state"`
	// By names who signed, when verified.
	By []string `json:"by,omitempty"`
	// Reason says what was found and why it does not count.
	Reason string `json:"reason,omitempty"`
}

// SignatureState is verified, unsigned (none found yet) or invalid (found, none counts).
type SignatureState string

const (
	SignatureVerified SignatureState = "verified"
	SignatureUnsigned SignatureState = "unsigned"
	SignatureInvalid  SignatureState = "invalid"
)

// AwaitingSignature: the digest is not signed yet; hoist looks again until the
// policy's verify.wait has passed.
const AwaitingSignature Action = "awaiting-signature"

// signing is the updater's part of verification: the checker, when each digest was
// first seen (how long it has waited), and the digests waiting for a signature, by
// their classic signature tag, so a push of that tag wakes them. A nil *signing is a
// hoist that cannot verify.
type signing struct {
	check    Signatures
	seen     Gatekeeper
	now      func() time.Time
	mu       sync.Mutex
	awaiting map[string]name.Tag // "repo:sha256-<hex>.sig" → the tag the workload follows
}

// SetSignatures makes the updater check signatures for policies that ask for it.
// Call before Run.
func (u *Updater) SetSignatures(s Signatures) {
	u.sig = &signing{check: s, seen: u.store, now: func() time.Time { return u.now() }, awaiting: map[string]name.Tag{}}
}

// signed settles st when its target may not roll out for want of a signature:
// unsigned (held, re-checked on a backoff until verify.wait, then refused) or invalid
// (refused and quarantined). It runs before anything reaches the engine, whatever the
// trigger, since every rollout is decided here.
func (s *signing) signed(ctx context.Context, st *Status, rule *policy.Rule) bool {
	if rule.Verify == nil {
		return true
	}
	if s == nil {
		st.Action, st.Reason = CheckError, "policy "+rule.Name+" requires signatures, but this hoist cannot verify them"
		return false
	}
	t := st.target
	sig, err := s.check.Verify(ctx, rule.Verify, t.Tag.Context(), t.Digest)
	if err != nil {
		st.Action, st.Reason, st.err = CheckError, err.Error(), err
		return false
	}
	st.Signature = &sig
	switch sig.State {
	case SignatureVerified:
		s.forget(t)
		return true
	case SignatureInvalid:
		s.forget(t)
		st.Action, st.quarantine = Refused, true
		st.Reason = "refused: invalid signature: " + sig.Reason
		return false
	}
	now := s.now()
	ref := t.Tag.Context().Name() + "@" + t.Digest.String()
	seen, err := s.seen.FirstSeen(ref, now)
	if err != nil {
		seen = now
	}
	wait := rule.Verify.Wait
	if deadline := seen.Add(wait); !now.Before(deadline) {
		s.forget(t)
		st.Action, st.quarantine = Refused, true
		st.Reason = fmt.Sprintf("refused: not signed within %s (policy %s's verify.wait): %s", wait, rule.Name, sig.Reason)
		return false
	}
	s.await(t)
	st.Action = AwaitingSignature
	st.NotBefore = now.Add(signatureBackoff(now.Sub(seen)))
	if d := seen.Add(wait); st.NotBefore.After(d) {
		st.NotBefore = d
	}
	st.Reason = fmt.Sprintf("awaiting signature (first seen %s ago, waits up to %s): %s", now.Sub(seen).Round(time.Second), wait, sig.Reason)
	return false
}

// signatureBackoff is the pause before the next look at an unsigned digest seen age
// ago: 1 s at first, doubling with age, at most a minute.
func signatureBackoff(age time.Duration) time.Duration {
	return min(max(age, time.Second), time.Minute)
}

func sigKey(t Target) string {
	return t.Tag.Context().Name() + ":" + t.Digest.Algorithm + "-" + t.Digest.Hex + ".sig"
}

func (s *signing) await(t Target) {
	s.mu.Lock()
	s.awaiting[sigKey(t)] = t.Tag
	s.mu.Unlock()
}

func (s *signing) forget(t Target) {
	s.mu.Lock()
	delete(s.awaiting, sigKey(t))
	s.mu.Unlock()
}

// pushed turns a push of a waiting digest's signature tag into a push of the tag
// its workload follows, so the digest is looked at again at once.
func (s *signing) pushed(ev registry.PushEvent) registry.PushEvent {
	if s == nil || !strings.HasSuffix(ev.Tag, ".sig") {
		return ev
	}
	s.mu.Lock()
	tag, ok := s.awaiting[ev.Repo.Name()+":"+ev.Tag]
	s.mu.Unlock()
	if ok {
		ev.Tag = tag.TagStr()
	}
	return ev
}

// quarantineRefused quarantines the digest of a record refused for its signatures.
func (u *Updater) quarantineRefused(r Rollout, st Status) {
	if !st.quarantine {
		return
	}
	q := &Quarantine{Workload: r.Workload, Digest: st.target.Digest.String(), Since: r.Ended, Reason: r.Reason, Rollout: r.ID}
	if err := u.store.PutQuarantined(r, q); err != nil {
		u.log.Error().Err(err).Msg("quarantine a digest refused for its signatures")
	}
	u.changed(ChangeQuarantine, r.Workload)
}

// signedBy is who signed st's target, for its record.
func signedBy(st Status) []string {
	if st.Signature == nil || st.Signature.State != SignatureVerified {
		return nil
	}
	return st.Signature.By
}
