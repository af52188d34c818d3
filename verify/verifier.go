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

// maxCached bounds the verdicts kept (a few hundred bytes each).
const maxCached = 10000

// Verifier checks digests and remembers final verdicts. Safe for concurrent use.
type Verifier struct {
	reg   Registry
	mu    sync.Mutex
	cache map[string]Verdict
	// tagFirst: repositories whose last verified signature was a classic `.sig` tag;
	// they are read in that form first (2 requests instead of 3).
	tagFirst map[string]bool
}

// New builds a Verifier reaching registries through reg.
func New(reg Registry) *Verifier {
	return &Verifier{reg: reg, cache: map[string]Verdict{}, tagFirst: map[string]bool{}}
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
	v.mu.Lock()
	tagFirst := v.tagFirst[repo.Name()]
	v.mu.Unlock()
	vd, fromTag, err := p.check(f, tagFirst)
	if err != nil {
		return Verdict{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
	}
	vd.Requests = f.requests
	v.mu.Lock()
	if vd.State != Unsigned {
		if len(v.cache) >= maxCached {
			clear(v.cache) // an old digest judged again costs its requests once more
		}
		v.cache[key] = vd
	}
	if vd.State == Verified {
		v.tagFirst[repo.Name()] = fromTag
	}
	v.mu.Unlock()
	return vd, nil
}

// check reads one form, then the other when the first did not settle it: referrers
// first (cosign 3's default) unless tagFirst. fromTag says the verdict came from the
// classic tag.
func (p *Policy) check(f *fetcher, tagFirst bool) (vd Verdict, fromTag bool, err error) {
	s := subject{repo: f.repo, digest: f.digest}
	var js []judgement
	forms := []bool{tagFirst, !tagFirst}
	for i, tag := range forms {
		more, err := p.read(f, s, tag)
		if err != nil {
			return Verdict{}, false, err
		}
		js = append(js, more...)
		if vd, done := p.verdict(s, js, i == len(forms)-1); done {
			return vd, tag, nil
		}
	}
	return Verdict{}, false, nil // not reached: the last verdict is always done
}

// read judges the signatures stored in one form: the classic tag, or referrers.
func (p *Policy) read(f *fetcher, s subject, tag bool) ([]judgement, error) {
	var js []judgement
	if tag {
		cs, err := f.classic()
		for _, c := range cs {
			js = append(js, p.classic(s, c))
		}
		return js, err
	}
	bs, err := f.bundles()
	for _, b := range bs {
		js = append(js, p.bundled(s, b))
	}
	return js, err
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
