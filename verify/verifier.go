package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// State is a verdict's kind.
type State string

const (
	// Verified: signed as the policy requires.
	Verified State = "verified"
	// Unsigned: no signature found (yet): worth another look later.
	Unsigned State = "unsigned"
	// Invalid: signatures were found and none satisfies the policy. Final.
	Invalid State = "invalid"
)

// Verdict is what verification concluded for one digest under one policy.
type Verdict struct {
	State State `json:"state"`
	// By names who signed (a key's file name, a certificate's identity), when verified.
	By []string `json:"by,omitempty"`
	// Reason says what was found and why it does not count.
	Reason string `json:"reason,omitempty"`
	// Requests is how many registry requests this answer cost (0 when remembered).
	Requests int `json:"requests"`
}

// Verifier checks digests and remembers final verdicts. Safe for concurrent use.
type Verifier struct {
	reg   Registry
	mu    sync.Mutex
	cache map[string]Verdict
}

// New builds a Verifier reaching registries through reg.
func New(reg Registry) *Verifier {
	return &Verifier{reg: reg, cache: map[string]Verdict{}}
}

// Verify decides whether digest, in repo, is signed as p requires. Verified and
// invalid verdicts are remembered (they cannot change); an unsigned one is not. An
// error means the registry could not be read: no verdict.
func (v *Verifier) Verify(ctx context.Context, p *Policy, repo name.Repository, digest v1.Hash) (Verdict, error) {
	key := p.fingerprint + "|" + repo.Name() + "@" + digest.String()
	v.mu.Lock()
	got, ok := v.cache[key]
	v.mu.Unlock()
	if ok {
		got.Requests = 0
		return got, nil
	}
	opts, err := v.reg.RemoteOptions(ctx, repo)
	if err != nil {
		return Verdict{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
	}
	f := &fetcher{opts: opts, repo: repo, digest: digest}
	vd, err := p.check(f)
	if err != nil {
		return Verdict{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
	}
	vd.Requests = f.requests
	if vd.State != Unsigned {
		v.mu.Lock()
		v.cache[key] = vd
		v.mu.Unlock()
	}
	return vd, nil
}

// check reads the referrers first (cosign 3's default), then the classic tag when
// they did not settle it.
func (p *Policy) check(f *fetcher) (Verdict, error) {
	s := subject{repo: f.repo, digest: f.digest}
	var js []judgement
	bs, err := f.bundles()
	if err != nil {
		return Verdict{}, err
	}
	for _, b := range bs {
		js = append(js, p.bundled(s, b))
	}
	if vd, done := p.verdict(s, js, false); done {
		return vd, nil
	}
	cs, err := f.classic()
	if err != nil {
		return Verdict{}, err
	}
	for _, c := range cs {
		js = append(js, p.classic(s, c))
	}
	vd, _ := p.verdict(s, js, true)
	return vd, nil
}

// verdict sums the judgements up; done says whether more signatures could change it.
func (p *Policy) verdict(s subject, js []judgement, last bool) (Verdict, bool) {
	matched := map[int]string{}
	var whys []string
	for _, j := range js {
		for i, by := range j.matched {
			matched[i] = by
		}
		if j.why != "" {
			whys = append(whys, j.why)
		}
	}
	need := 1
	if p.RequireAll {
		need = p.entries()
	}
	if len(matched) >= need {
		by := make([]string, 0, len(matched))
		for _, b := range matched {
			by = append(by, b)
		}
		slices.Sort(by)
		return Verdict{State: Verified, By: slices.Compact(by)}, true
	}
	if !last {
		return Verdict{}, false
	}
	want := fmt.Sprintf("no signature by %s for %s", strings.Join(p.names(), " or "), s.digest)
	switch {
	case len(js) == 0:
		return Verdict{State: Unsigned, Reason: want + " (no signature found)"}, true
	case len(matched) > 0 && len(whys) == 0:
		return Verdict{State: Unsigned, Reason: fmt.Sprintf("%d of %d required signatures so far", len(matched), need)}, true
	}
	return Verdict{State: Invalid, Reason: want + "; " + strings.Join(whys, "; ")}, true
}
