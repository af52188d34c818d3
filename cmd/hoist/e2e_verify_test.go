package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/verify"
)

// cosignKey signs digests as `cosign sign --key` does in its classic form: a
// simple-signing payload under the digest's `.sig` tag.
type cosignKey struct {
	sv   *signature.ECDSASignerVerifier
	file string // the public key, as hoist reads it
}

func newCosignKey(t *testing.T, dir string) cosignKey {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "cosign-"+randHex(3)+".pub")
	if err := os.WriteFile(f, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return cosignKey{sv: sv, file: f}
}

// sign pushes a signature of image (repo:tag@digest).
func (k cosignKey) sign(t *testing.T, image string) {
	t.Helper()
	left, dg, _ := strings.Cut(image, "@")
	tag, err := name.NewTag(left)
	if err != nil {
		t.Fatal(err)
	}
	d, err := v1.NewHash(dg)
	if err != nil {
		t.Fatal(err)
	}
	repo := tag.Context()
	payload := fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		repo.Name(), d.String())
	sig, err := k.sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(payload, verify.SimpleSigningType),
		Annotations: map[string]string{verify.AnnSignature: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(verify.SigTag(repo, d), img); err != nil {
		t.Fatal(err)
	}
}

// Only signed digests reach the engine: a signed one rolls out; an unsigned one waits,
// then is refused with the service untouched; a signature pushed after the image lets
// it go; a signature by another key is refused at once and the digest quarantined.
func TestE2EVerifySignatures(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-verify-", "", "prod", 1)
	dc, svc := a.dc, a.svc
	dir := t.TempDir()
	good, other := newCosignKey(t, dir), newCosignKey(t, dir)
	h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(svc, "2s")+
		fmt.Sprintf("    verify:\n      cosign:\n        - key: %s\n      wait: 8s\n", good.file), nil)
	key := "service/" + svc
	version := func() uint64 {
		s, err := dc.ServiceInspect(context.Background(), svc, client.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Service.Version.Index
	}

	// Signed: rolls out.
	img2 := a.push(t, testenv.App{Version: "2"})
	good.sign(t, img2)
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != img2 {
		t.Fatalf("signed digest: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, img2)
	}
	waitRunning(t, dc, svc, img2, 1, 30*time.Second)
	before := version()

	// Unsigned: held ("awaiting signature"), then refused after wait, engine untouched.
	img3 := a.push(t, testenv.App{Version: "3"})
	waitStatus(t, h, key, updater.AwaitingSignature, 20*time.Second)
	r = waitOutcome(t, h, key, img3, 30*time.Second)
	if r.Outcome != updater.RefusedOutcome || !strings.Contains(r.Reason, "not signed within 8s") || !strings.Contains(r.Reason, "no signature by key "+filepath.Base(good.file)) {
		t.Fatalf("unsigned digest: %s (%s), want refused for want of a signature", r.Outcome, r.Reason)
	}
	if got := serviceImage(t, dc, svc); got != img2 || version() != before {
		t.Fatalf("the engine was touched for an unsigned digest: image %s, spec version %d → %d", got, before, version())
	}

	// Signed 5 s after the push: held, then rolled out.
	img4 := a.push(t, testenv.App{Version: "4"})
	waitStatus(t, h, key, updater.AwaitingSignature, 20*time.Second)
	pushed := time.Now()
	time.Sleep(5 * time.Second) // the signature comes late on purpose: CI signs after pushing
	good.sign(t, img4)
	r = waitOutcome(t, h, key, img4, 2*time.Minute)
	if r.Outcome != updater.Succeeded {
		t.Fatalf("late-signed digest: %s (%s), want succeeded", r.Outcome, r.Reason)
	}
	t.Logf("late signature: rolled out %s after the push", r.Started.Sub(pushed).Round(100*time.Millisecond))
	waitRunning(t, dc, svc, img4, 1, 30*time.Second)
	before = version()

	// Signed by another key: refused at once and quarantined.
	img5 := a.push(t, testenv.App{Version: "5"})
	other.sign(t, img5)
	start := time.Now()
	r = waitOutcome(t, h, key, img5, 20*time.Second)
	if r.Outcome != updater.RefusedOutcome || !strings.Contains(r.Reason, "invalid signature") || !strings.Contains(r.Reason, "1 signature by another key") {
		t.Fatalf("digest signed by another key: %s (%s), want refused", r.Outcome, r.Reason)
	}
	t.Logf("invalid signature refused %s after the push: %s", time.Since(start).Round(100*time.Millisecond), r.Reason)
	waitStatus(t, h, key, updater.Quarantined, 10*time.Second)
	if got := serviceImage(t, dc, svc); got != img4 || version() != before {
		t.Fatalf("the engine was touched for an invalid signature: image %s, spec version %d → %d", got, before, version())
	}
}

// waitOutcome waits for the newest record of workload to be about image and ended.
func waitOutcome(t *testing.T, h *hoistProc, workload, image string, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if rs := h.rollouts(t, workload); len(rs) > 0 && rs[0].To == image && rs[0].Outcome != updater.Running {
			return rs[0]
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no ended record of %s to %s within %s", workload, image, timeout)
	return updater.Rollout{}
}

// waitStatus waits until the API shows workload in action.
func waitStatus(t *testing.T, h *hoistProc, workload string, action updater.Action, timeout time.Duration) updater.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var sts []updater.Status
		h.getJSON(t, "/api/v1/workloads", &sts)
		for _, st := range sts {
			if st.Workload.Key() == workload && st.Action == action {
				return st
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s never showed %s within %s", workload, action, timeout)
	return updater.Status{}
}

// Keyless signatures (a virtual Fulcio and TSA) in both of cosign's forms: a bundle
// attached as an OCI referrer rolls out; a certificate for another identity and one
// that expired without a timestamp are refused at once; a digest waiting for its
// signature goes as soon as a push of its `.sig` tag is notified.
func TestE2EVerifyKeyless(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-keyless-", "", "prod", 1)
	dc, svc := a.dc, a.svc
	s := testenv.NewSigner(t, a.reg)
	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 0 }\nwebhooks:\n  distribution: { token: "+tok+" }\n"+policyYAML(svc, "2s")+
		fmt.Sprintf("    verify:\n      cosign:\n        - keyless: { issuer: %s, subject_regexp: '%s' }\n      trusted_root: %s\n      wait: 2m\n",
			testenv.Issuer, testenv.IdentityRegexp, s.RootFile), nil)
	key := "service/" + svc
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
	notify := func(tag string) {
		if code := post(t, h.URL+"/webhooks/distribution", hdr, distributionEvent(a.reg.Host, svc, tag)); code != 202 {
			t.Fatalf("webhook: status %d", code)
		}
	}
	repo, err := name.NewRepository(a.repo)
	if err != nil {
		t.Fatal(err)
	}
	digestOf := func(image string) v1.Hash {
		_, d, _ := strings.Cut(image, "@")
		h, err := v1.NewHash(d)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	img2 := a.push(t, testenv.App{Version: "2"})
	s.PutBundle(repo, digestOf(img2), s.BundleKeyless(testenv.Statement(repo, digestOf(img2)), testenv.GoodIdentity))
	notify(a.tag)
	if r := waitOutcome(t, h, key, img2, 2*time.Minute); r.Outcome != updater.Succeeded || len(r.SignedBy) != 1 || !strings.Contains(r.SignedBy[0], testenv.GoodIdentity) {
		t.Fatalf("bundle by the right identity: %s (%s) signed by %q, want succeeded, signed by %s", r.Outcome, r.Reason, r.SignedBy, testenv.GoodIdentity)
	}
	waitRunning(t, dc, svc, img2, 1, 30*time.Second)

	refusals := []struct {
		name, want string
		sign       func(d v1.Hash) testenv.Layer
	}{
		{"another identity", "1 signature by another identity: " + testenv.OtherIdentity, func(d v1.Hash) testenv.Layer {
			return s.SignKeyless(testenv.Payload(repo, d), testenv.OtherIdentity)
		}},
		{"expired certificate", "whose certificate expired at", func(d v1.Hash) testenv.Layer {
			return s.SignExpired(testenv.Payload(repo, d), testenv.GoodIdentity)
		}},
	}
	for i, rc := range refusals {
		img := a.push(t, testenv.App{Version: fmt.Sprint(3 + i)})
		s.PutClassic(repo, digestOf(img), rc.sign(digestOf(img)))
		notify(a.tag)
		r := waitOutcome(t, h, key, img, 30*time.Second)
		if r.Outcome != updater.RefusedOutcome || !strings.Contains(r.Reason, rc.want) {
			t.Fatalf("%s: %s (%s), want refused naming %q", rc.name, r.Outcome, r.Reason, rc.want)
		}
		if got := serviceImage(t, dc, svc); got != img2 {
			t.Fatalf("%s: the service moved to %s", rc.name, got)
		}
	}

	// Unsigned, then signed: the push of the .sig tag wakes the waiting digest.
	img5 := a.push(t, testenv.App{Version: "5"})
	notify(a.tag)
	waitStatus(t, h, key, updater.AwaitingSignature, 20*time.Second)
	s.PutClassic(repo, digestOf(img5), s.SignKeyless(testenv.Payload(repo, digestOf(img5)), testenv.GoodIdentity))
	signed := time.Now()
	notify(testenv.SigTag(repo, digestOf(img5)).TagStr())
	r := waitOutcome(t, h, key, img5, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.Trigger != "distribution" {
		t.Fatalf("signature pushed late: %s via %s (%s), want succeeded via the .sig push", r.Outcome, r.Trigger, r.Reason)
	}
	t.Logf("rollout started %s after the signature's push was notified", r.Started.Sub(signed).Round(10*time.Millisecond))
}
