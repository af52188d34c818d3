package registry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// benchRefs are n tags on an in-process registry, each in its own repository, all
// pointing at one tiny image.
func benchRefs(b *testing.B, n int) []name.Reference {
	b.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	b.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(512, 1)
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]name.Reference, n)
	for i := range refs {
		if refs[i], err = name.ParseReference(fmt.Sprintf("%s/bench/r%05d:latest", host, i)); err != nil {
			b.Fatal(err)
		}
		if err := remote.Write(refs[i], img); err != nil {
			b.Fatal(err)
		}
	}
	return refs
}

// BenchmarkResolveMany is one poll cycle's digest checks (after the first cycle: the
// ping is remembered, connections are kept) by the Client, next to the cheapest loop
// go-containerregistry runs over the same references with the same concurrency: one
// pinged transport and one Puller, Head per reference. Per-reference figures:
// go test ./registry -run '^$' -bench ResolveMany -benchmem
func BenchmarkResolveMany(b *testing.B) {
	const n, conc = 500, 8
	refs := benchRefs(b, n)
	ctx := context.Background()
	b.Run("hoist", func(b *testing.B) {
		c := newTestClient(Options{})
		c.ResolveMany(ctx, refs, conc)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for k, r := range c.ResolveMany(ctx, refs, conc) {
				if r.Err != nil {
					b.Fatal(k, r.Err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
	})
	b.Run("cheap", func(b *testing.B) {
		t, err := transport.NewWithContext(ctx, refs[0].Context().Registry, authn.Anonymous,
			remote.DefaultTransport, []string{refs[0].Scope(transport.PullScope)})
		if err != nil {
			b.Fatal(err)
		}
		p, err := remote.NewPuller(remote.WithTransport(t))
		if err != nil {
			b.Fatal(err)
		}
		cycle := func() {
			work := make(chan name.Reference)
			var errs atomic.Int64
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for r := range work {
						if _, err := p.Head(ctx, r); err != nil {
							errs.Add(1)
						}
					}
				})
			}
			for _, r := range refs {
				work <- r
			}
			close(work)
			wg.Wait()
			if errs.Load() > 0 {
				b.Fatal(errs.Load(), "errors")
			}
		}
		cycle()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			cycle()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
	})
}
