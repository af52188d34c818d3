package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestCanonicalDedupes(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"nginx", "docker.io/library/nginx:latest", true},
		{"nginx", "index.docker.io/library/nginx", true},
		{"docker.io/library/nginx:latest", "index.docker.io/library/nginx:latest", true},
		{"nginx", "nginx:1.27", false},
		{"localhost:5000/x", "127.0.0.1:5000/x", false},
		{"localhost:5000/x", "localhost:5000/x:latest", true},
		{"ghcr.io/o/x@sha256:" + strings.Repeat("a", 64), "ghcr.io/o/x@sha256:" + strings.Repeat("a", 64), true},
	} {
		a, err := name.ParseReference(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := name.ParseReference(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		rs := []name.Reference{a, b}
		switch r := a.(type) { // the updater hands over pointers into its entries
		case name.Tag:
			rs = append(rs, &r)
		case name.Digest:
			rs = append(rs, &r)
		}
		for _, r := range rs {
			if Canonical(r) != r.Name() {
				t.Errorf("Canonical(%q) = %q, want its Name() %q", r, Canonical(r), r.Name())
			}
			if tag, ok := r.(name.Tag); ok && CanonicalTag(tag) != r.Name() {
				t.Errorf("CanonicalTag(%q) = %q, want its Name() %q", r, CanonicalTag(tag), r.Name())
			}
		}
		if got := Canonical(a) == Canonical(b); got != tc.same {
			t.Errorf("Canonical(%q)==Canonical(%q) is %v (%s, %s), want %v", tc.a, tc.b, got, Canonical(a), Canonical(b), tc.same)
		}
	}
}

func newTestClient(o Options) *Client {
	if o.Keychain == nil {
		o.Keychain = authn.NewMultiKeychain() // never read ~/.docker in tests
	}
	return New(o)
}

func TestResolveManyOneHeadPerUniqueRef(t *testing.T) {
	tr := newTestRegistry(t, nil)
	img := tinyImage(t)
	want := tr.push(t, "app/a:latest", img)
	tr.push(t, "app/b:v1", img)
	port := tr.host[strings.LastIndex(tr.host, ":"):]
	refs := []name.Reference{
		tr.ref(t, "app/a"), tr.ref(t, "app/a:latest"), tr.ref(t, "app/a:latest"),
		tr.ref(t, "app/b:v1"),
		mustRef(t, "localhost"+port+"/app/a"), // another registry name: its own ping and HEAD
	}
	c := newTestClient(Options{})
	got := c.ResolveMany(context.Background(), refs, 4)
	if len(got) != 3 {
		t.Fatalf("got %d results, want 3: %v", len(got), got)
	}
	for k, r := range got {
		if r.Err != nil {
			t.Errorf("%s: %v", k, r.Err)
		}
	}
	if d := got[Canonical(refs[0])].Desc.Digest; d != want {
		t.Errorf("digest %s, want %s", d, want)
	}
	if tr.head.Load() != 3 || tr.ping.Load() != 2 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want 3 HEADs, 2 pings (one per registry name), no GET", tr.counts())
	}

	// The next cycle reuses the transports: HEADs only.
	c.ResolveMany(context.Background(), refs, 4)
	if tr.head.Load() != 6 || tr.ping.Load() != 2 {
		t.Errorf("after a second cycle: %s; want 6 HEADs and still 2 pings", tr.counts())
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBearerOneTokenPerRepository(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) { tr.auth = "bearer" })
	img := tinyImage(t)
	var refs []name.Reference
	for i := range 10 {
		tr.push(t, fmt.Sprintf("r%d:v1", i), img)
		refs = append(refs, tr.ref(t, fmt.Sprintf("r%d:v1", i)))
	}
	tr.push(t, "r0:v2", img)
	refs = append(refs, tr.ref(t, "r0:v2")) // same repository, same token
	c := newTestClient(Options{})
	for k, r := range c.ResolveMany(context.Background(), refs, 4) {
		if r.Err != nil {
			t.Errorf("%s: %v", k, r.Err)
		}
	}
	if tr.ping.Load() != 1 || tr.token.Load() != 10 || tr.head.Load() != 11 || tr.get.Load() != 0 {
		t.Errorf("requests %s; want 1 ping, 10 tokens (one per repository), 11 HEADs", tr.counts())
	}
	tr.mu.Lock()
	scopes := slices.Clone(tr.scopes)
	tr.mu.Unlock()
	slices.Sort(scopes)
	if len(slices.Compact(scopes)) != 10 {
		t.Errorf("token scopes %v, want 10 distinct", scopes)
	}
	// Tokens live 300s (expires_in): the next cycle needs no token.
	c.ResolveMany(context.Background(), refs, 4)
	if tr.ping.Load() != 1 || tr.token.Load() != 10 || tr.head.Load() != 22 {
		t.Errorf("after a second cycle: %s; want HEADs only", tr.counts())
	}
}

func TestBasicOneTransportPerRegistry(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) { tr.auth = "basic" })
	img := tinyImage(t)
	var refs []name.Reference
	for i := range 5 {
		tr.push(t, fmt.Sprintf("r%d:v1", i), img)
		refs = append(refs, tr.ref(t, fmt.Sprintf("r%d:v1", i)))
	}
	c := newTestClient(Options{Credentials: []Credential{{Host: tr.host, Username: "user", Password: "pass"}}})
	for k, r := range c.ResolveMany(context.Background(), refs, 3) {
		if r.Err != nil {
			t.Errorf("%s: %v", k, r.Err)
		}
	}
	if tr.ping.Load() != 1 || tr.token.Load() != 0 || tr.head.Load() != 5 {
		t.Errorf("requests %s; want 1 ping and 5 HEADs", tr.counts())
	}
	// Wrong password: a permanent error.
	bad := newTestClient(Options{Credentials: []Credential{{Host: tr.host, Username: "user", Password: "nope"}}})
	_, err := bad.Resolve(context.Background(), refs[0])
	if err == nil || IsRetryable(err) {
		t.Errorf("bad password: err %v, retryable %v; want a permanent error", err, IsRetryable(err))
	}
}

func TestResolveNotFound(t *testing.T) {
	tr := newTestRegistry(t, nil)
	c := newTestClient(Options{})
	_, err := c.Resolve(context.Background(), tr.ref(t, "nope:v1"))
	if !errors.Is(err, ErrNotFound) || IsRetryable(err) {
		t.Errorf("err %v: want ErrNotFound, not retryable", err)
	}
	if tr.get.Load() != 0 {
		t.Errorf("a GET was sent: %s", tr.counts())
	}
}
