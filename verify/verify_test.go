package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/verify"
)

func policy(t testing.TB, s *testenv.Signer) *verify.Policy {
	t.Helper()
	p, err := verify.Load(verify.Spec{KeyFiles: []string{s.KeyFile}, Identities: [][2]string{{testenv.Issuer, testenv.IdentityRegexp}}, RootFile: s.RootFile})
	mustOK(t, err)
	return p
}

// copyTo writes digest d of from into repository to, unchanged.
func copyTo(t testing.TB, from name.Repository, d v1.Hash, to name.Repository) {
	img, err := remote.Image(from.Digest(d.String()))
	mustOK(t, err)
	mustOK(t, remote.Write(to.Tag("latest"), img))
}

func TestVerify(t *testing.T) {
	s := testenv.NewSigner(t, testenv.NewRegistry(t))
	p := policy(t, s)
	tests := []struct {
		name  string
		setup func(r name.Repository, d v1.Hash)
		state verify.State
		want  string // in By (verified) or Reason
	}{
		{"keyed", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKey(testenv.Payload(r, d), false)) },
			verify.Verified, "key cosign.pub"},
		{"keyless tag", func(r name.Repository, d v1.Hash) {
			s.PutClassic(r, d, s.SignKeyless(testenv.Payload(r, d), testenv.GoodIdentity))
		},
			verify.Verified, "identity " + testenv.GoodIdentity},
		{"keyless referrer", func(r name.Repository, d v1.Hash) {
			s.PutBundle(r, d, s.BundleKeyless(testenv.Statement(r, d), testenv.GoodIdentity))
		},
			verify.Verified, "identity " + testenv.GoodIdentity},
		{"unsigned", func(name.Repository, v1.Hash) {}, verify.Unsigned, "no signature found"},
		{"wrong key", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKey(testenv.Payload(r, d), true)) },
			verify.Invalid, "no signature by key cosign.pub or identity"},
		{"tampered keyed payload", func(r name.Repository, d v1.Hash) {
			l := s.SignKey(testenv.Payload(r, d), false)
			l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
			s.PutClassic(r, d, l)
		}, verify.Invalid, "another key (or over a changed payload)"},
		{"tampered keyless payload", func(r name.Repository, d v1.Hash) {
			l := s.SignKeyless(testenv.Payload(r, d), testenv.GoodIdentity)
			l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
			s.PutClassic(r, d, l)
		}, verify.Invalid, "does not verify (tampered payload"},
		{"other identity tag", func(r name.Repository, d v1.Hash) {
			s.PutClassic(r, d, s.SignKeyless(testenv.Payload(r, d), testenv.OtherIdentity))
		},
			verify.Invalid, "another identity: " + testenv.OtherIdentity},
		{"other identity referrer", func(r name.Repository, d v1.Hash) {
			s.PutBundle(r, d, s.BundleKeyless(testenv.Statement(r, d), testenv.OtherIdentity))
		},
			verify.Invalid, "another identity: " + testenv.OtherIdentity},
		{"copied from another digest", func(r name.Repository, d v1.Hash) {
			r2, d2 := s.Push("other-digest")
			s.PutClassic(r, d, s.SignKey(testenv.Payload(r2, d2), false))
		}, verify.Invalid, "signs another digest"},
		{"copied from another repository", func(r name.Repository, d v1.Hash) {
			src, _ := name.NewRepository(s.Reg.Host + "/elsewhere/app")
			copyTo(t, r, d, src)
			s.PutClassic(r, d, s.SignKeyless(testenv.Payload(src, d), testenv.GoodIdentity))
		}, verify.Invalid, "signs another repository (" + s.Reg.Host + "/elsewhere/app)"},
		{"referrer copied from another repository", func(r name.Repository, d v1.Hash) {
			src, _ := name.NewRepository(s.Reg.Host + "/elsewhere/app2")
			s.PutBundle(r, d, s.BundleKeyless(testenv.Statement(src, d), testenv.GoodIdentity))
		}, verify.Invalid, "signs another repository"},
		{"expired certificate without timestamp", func(r name.Repository, d v1.Hash) {
			s.PutClassic(r, d, s.SignExpired(testenv.Payload(r, d), testenv.GoodIdentity))
		},
			verify.Invalid, "certificate expired at"},
	}
	v := verify.New(registry.New(registry.Options{}))
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, d := s.Push(strings.ReplaceAll(tc.name, " ", "-") + "/" + string(rune('a'+i)))
			tc.setup(r, d)
			got, err := v.Verify(ctx, p, r, d)
			if err != nil {
				t.Fatal(err)
			}
			text := got.Reason + " " + strings.Join(got.By, ",")
			if got.State != tc.state || !strings.Contains(text, tc.want) {
				t.Fatalf("got %s (%s), want %s containing %q", got.State, text, tc.state, tc.want)
			}
			if got.Requests > 4 {
				t.Errorf("%d registry requests for one digest", got.Requests)
			}
			again, err := v.Verify(ctx, p, r, d)
			mustOK(t, err)
			if tc.state != verify.Unsigned && again.Requests != 0 {
				t.Errorf("a remembered verdict cost %d requests", again.Requests)
			}
			t.Logf("%s: %s by %v: %s (%d requests)", tc.name, got.State, got.By, got.Reason, got.Requests)
		})
	}
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// With require: all, one signer of two leaves the digest waiting for the other; both
// verify it.
func TestVerifyRequireAll(t *testing.T) {
	s := testenv.NewSigner(t, testenv.NewRegistry(t))
	p, err := verify.Load(verify.Spec{KeyFiles: []string{s.KeyFile}, Identities: [][2]string{{testenv.Issuer, testenv.IdentityRegexp}},
		RootFile: s.RootFile, RequireAll: true})
	mustOK(t, err)
	v := verify.New(registry.New(registry.Options{}))
	r, d := s.Push("all/app")
	s.PutClassic(r, d, s.SignKey(testenv.Payload(r, d), false))
	got, err := v.Verify(context.Background(), p, r, d)
	mustOK(t, err)
	if got.State != verify.Unsigned || !strings.Contains(got.Reason, "1 of 2") {
		t.Fatalf("one of two signers: %+v, want unsigned (1 of 2)", got)
	}
	s.PutClassic(r, d, s.SignKey(testenv.Payload(r, d), false), s.SignKeyless(testenv.Payload(r, d), testenv.GoodIdentity))
	got, err = v.Verify(context.Background(), p, r, d)
	mustOK(t, err)
	if got.State != verify.Verified || len(got.By) != 2 {
		t.Fatalf("both signers: %+v, want verified by both", got)
	}
}
