package updater

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// scriptedSignatures answers the verdict a test sets: the updater's side of
// verification (holding, refusing, quarantining, waking) on a clock the test turns.
// Real signatures are verified in the verify package and the e2e tests.
type scriptedSignatures struct {
	mu  sync.Mutex
	sig Signature
}

func (s *scriptedSignatures) Verify(context.Context, *policy.Verify, name.Repository, v1.Hash) (Signature, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sig, nil
}

func (s *scriptedSignatures) set(sig Signature) {
	s.mu.Lock()
	s.sig = sig
	s.mu.Unlock()
}

func TestSignatureGate(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	eng := &flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	sigs := &scriptedSignatures{sig: Signature{State: SignatureUnsigned, Reason: "no signature by key cosign.pub"}}
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	u := flakyUpdater(t, eng, registry.Options{}, func(u *Updater) {
		rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
		rule.Verify = &policy.Verify{Wait: time.Minute}
		u.SetPolicies(policy.NewSet(rule), map[string]Plan{"p": {}})
		u.SetSignatures(sigs)
		u.now = clock
	})
	ctx := context.Background()
	check := func() Status {
		t.Helper()
		sts, err := u.Check(ctx, false, "test")
		if err != nil || len(sts) != 1 {
			t.Fatalf("check: %v %v", sts, err)
		}
		return sts[0]
	}

	st := check()
	if st.Action != AwaitingSignature || !st.NotBefore.Equal(now.Add(time.Second)) || !strings.Contains(st.Reason, "no signature by key cosign.pub") {
		t.Fatalf("unsigned: %s until %s (%s), want awaiting-signature, looked at again in 1s", st.Action, st.NotBefore, st.Reason)
	}
	// A push of its .sig tag is taken for a push of the tag the workload follows.
	tag, _ := name.NewTag(ref)
	ev := u.sig.pushed(registry.PushEvent{Repo: tag.Context(), Tag: "sha256-" + d2.Hex + ".sig"})
	if ev.Tag != "stable" {
		t.Errorf("a push of the .sig tag became a push of %q, want stable", ev.Tag)
	}

	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	if st = check(); st.Action != AwaitingSignature || !st.NotBefore.Equal(clock().Add(30*time.Second)) {
		t.Fatalf("30s later: %s until %s, want awaiting-signature, looked at again in 30s", st.Action, st.NotBefore)
	}

	sigs.set(Signature{State: SignatureVerified, By: []string{"key cosign.pub"}})
	if st = check(); st.Action != WouldUpdate || st.Signature == nil || st.Signature.By[0] != "key cosign.pub" {
		t.Fatalf("signed: %s %+v, want update, signed by key cosign.pub", st.Action, st.Signature)
	}

	sigs.set(Signature{State: SignatureUnsigned, Reason: "no signature by key cosign.pub"})
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := u.Check(ctx, true, "test"); err != nil {
		t.Fatal(err)
	}
	if q, _ := u.store.IsQuarantined("service/app", d2.String()); !q {
		t.Fatal("a digest unsigned past verify.wait is not quarantined")
	}
	rs, _ := u.store.Rollouts("service/app", 10)
	if len(rs) != 1 || rs[0].Outcome != RefusedOutcome || !strings.Contains(rs[0].Reason, "not signed within 1m0s") {
		t.Fatalf("records %+v, want one refused for want of a signature", rs)
	}
	select {
	case got := <-eng.updated:
		t.Fatalf("the engine was asked to roll out %s", got.Digest)
	default:
	}
}
