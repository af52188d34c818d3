package verify_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/verify"
)

// BenchmarkVerify measures one verification of a digest never seen (per storage form)
// and of one already verified: time per digest and requests counted at the registry.
func BenchmarkVerify(b *testing.B) {
	s := testenv.NewSigner(b, testenv.NewRegistry(b))
	p := policy(b, s)
	forms := []struct {
		name string
		sign func(r name.Repository, d v1.Hash)
	}{
		{"new/keyed-tag", func(r name.Repository, d v1.Hash) { s.PutClassic(r, d, s.SignKey(testenv.Payload(r, d), false)) }},
		{"new/keyless-tag", func(r name.Repository, d v1.Hash) {
			s.PutClassic(r, d, s.SignKeyless(testenv.Payload(r, d), testenv.GoodIdentity))
		}},
		{"new/keyless-referrer", func(r name.Repository, d v1.Hash) {
			s.PutBundle(r, d, s.BundleKeyless(testenv.Statement(r, d), testenv.GoodIdentity))
		}},
		{"new/unsigned", func(name.Repository, v1.Hash) {}},
	}
	ctx := context.Background()
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			type item struct {
				r name.Repository
				d v1.Hash
			}
			items := make([]item, b.N)
			for i := range items {
				items[i].r, items[i].d = s.Push("bench/app")
				f.sign(items[i].r, items[i].d)
			}
			v := verify.New(registry.New(registry.Options{}))
			before := total(s)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(ctx, p, items[i].r, items[i].d); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(total(s)-before)/float64(b.N), "requests/digest")
		})
	}
	b.Run("cached", func(b *testing.B) {
		r, d := s.Push("bench/cached")
		s.PutBundle(r, d, s.BundleKeyless(testenv.Statement(r, d), testenv.GoodIdentity))
		v := verify.New(registry.New(registry.Options{}))
		if vd, err := v.Verify(ctx, p, r, d); err != nil || vd.State != verify.Verified {
			b.Fatal(vd, err)
		}
		before := total(s)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := v.Verify(ctx, p, r, d); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(total(s)-before)/float64(b.N), "requests/digest")
	})
}

func total(s *testenv.Signer) int64 {
	h, g, p, o := s.Reg.Counts()
	return h + g + p + o
}
