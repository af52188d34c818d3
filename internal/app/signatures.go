package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/verify"
)

// signatures is the updater's Signatures: it compiles each policy's signers once (a
// reload that changes them compiles anew) and asks one verify.Verifier, which
// remembers verdicts.
type signatures struct {
	v        *verify.Verifier
	mu       sync.Mutex
	compiled map[string]*verify.Policy // by the signers as written
}

// newSignatures reads signatures through reg (a client of their own: the files they
// read are not the digests the poller resolves).
func newSignatures(reg verify.Registry) *signatures {
	return &signatures{v: verify.New(reg), compiled: map[string]*verify.Policy{}}
}

func (s *signatures) Verify(ctx context.Context, p *policy.Verify, repo name.Repository, digest v1.Hash) (updater.Signature, error) {
	vp, err := s.policy(p)
	if err != nil {
		return updater.Signature{}, err
	}
	vd, err := s.v.Verify(ctx, vp, repo, digest)
	if err != nil {
		return updater.Signature{}, registry.Classify(err) // a 5xx or a timeout is looked at again
	}
	return updater.Signature{State: updater.SignatureState(vd.State), By: vd.By, Reason: vd.Reason}, nil
}

func (s *signatures) policy(p *policy.Verify) (*verify.Policy, error) {
	k := fmt.Sprintf("%q %q %q %t", p.Keys, p.Identities, p.TrustedRoot, p.RequireAll)
	s.mu.Lock()
	defer s.mu.Unlock()
	if vp, ok := s.compiled[k]; ok {
		return vp, nil
	}
	vp, err := verify.Load(verify.Spec{KeyFiles: p.Keys, Identities: p.Identities, RootFile: p.TrustedRoot, RequireAll: p.RequireAll})
	if err != nil {
		return nil, fmt.Errorf("signers: %w", err)
	}
	s.compiled[k] = vp
	return vp, nil
}
