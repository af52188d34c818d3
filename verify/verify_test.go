package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/verify"
)

func policy(t testing.TB, s *Signer) *verify.Policy {
	t.Helper()
	p, err := verify.Load(verify.Spec{KeyFiles: []string{s.KeyFile}, Identities: [][2]string{{issuer, idRegexp}}, RootFile: s.RootFile})
	must(t, err)
	return p
}

// copyTo writes digest d of from into repository to, unchanged.
func copyTo(t testing.TB, from name.Repository, d v1.Hash, to name.Repository) {
	img, err := remote.Image(from.Digest(d.String()))
	must(t, err)
	must(t, remote.Write(to.Tag("latest"), img))
}

func TestVerify(t *testing.T) {
	s := NewSigner(t)
	p := policy(t, s)
	tests := []struct {
		name  string
		setup func(r name.Repository, d v1.Hash)
		state verify.State
		want  string // in By (verified) or Reason
	}{
		{"keyed", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKey(Payload(r, d), false)) },
			verify.Verified, "key cosign.pub"},
		{"keyless tag", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKeyless(Payload(r, d), goodID)) },
			verify.Verified, "identity " + goodID},
		{"keyless referrer", func(r name.Repository, d v1.Hash) { s.PutBundle(r, d, s.BundleKeyless(Statement(r, d), goodID)) },
			verify.Verified, "identity " + goodID},
		{"unsigned", func(name.Repository, v1.Hash) {}, verify.Unsigned, "no signature found"},
		{"wrong key", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKey(Payload(r, d), true)) },
			verify.Invalid, "no signature by key cosign.pub or identity"},
		{"tampered keyed payload", func(r name.Repository, d v1.Hash) {
			l := s.SignKey(Payload(r, d), false)
			l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
			s.PutClassic(r, d, l)
		}, verify.Invalid, "another key (or over a changed payload)"},
		{"tampered keyless payload", func(r name.Repository, d v1.Hash) {
			l := s.SignKeyless(Payload(r, d), goodID)
			l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
			s.PutClassic(r, d, l)
		}, verify.Invalid, "does not verify (tampered payload"},
		{"other identity tag", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKeyless(Payload(r, d), otherID)) },
			verify.Invalid, "another identity: " + otherID},
		{"other identity referrer", func(r name.Repository, d v1.Hash) { s.PutBundle(r, d, s.BundleKeyless(Statement(r, d), otherID)) },
			verify.Invalid, "another identity: " + otherID},
		{"copied from another digest", func(r name.Repository, d v1.Hash) {
			r2, d2 := s.Push("other-digest")
			s.PutClassic(r, d, s.SignKey(Payload(r2, d2), false))
		}, verify.Invalid, "signs another digest"},
		{"copied from another repository", func(r name.Repository, d v1.Hash) {
			src, _ := name.NewRepository(s.Reg.Host + "/elsewhere/app")
			copyTo(t, r, d, src)
			s.PutClassic(r, d, s.SignKeyless(Payload(src, d), goodID))
		}, verify.Invalid, "signs another repository (" + s.Reg.Host + "/elsewhere/app)"},
		{"referrer copied from another repository", func(r name.Repository, d v1.Hash) {
			src, _ := name.NewRepository(s.Reg.Host + "/elsewhere/app2")
			s.PutBundle(r, d, s.BundleKeyless(Statement(src, d), goodID))
		}, verify.Invalid, "signs another repository"},
		{"expired certificate without timestamp", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignExpired(Payload(r, d), goodID)) },
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
			must(t, err)
			if tc.state != verify.Unsigned && again.Requests != 0 {
				t.Errorf("a remembered verdict cost %d requests", again.Requests)
			}
			t.Logf("%s: %s by %v: %s (%d requests)", tc.name, got.State, got.By, got.Reason, got.Requests)
		})
	}
}
