package registry

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The HEAD hoist builds itself reads what go-containerregistry's Puller.Head reads,
// for a tag, a digest and an index, with the same Accept header.
func TestHeadMatchesPullerHead(t *testing.T) {
	var mu sync.Mutex
	var accept []string
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(_ http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodHead {
				mu.Lock()
				accept = append(accept, r.Header.Get("Accept"))
				mu.Unlock()
			}
			return false
		}
	})
	img := tinyImage(t)
	d := tr.push(t, "app/img:v1", img)
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	tr.push(t, "app/idx:v1", index(t, entryOf{p: amd, img: platformImage(t, amd)}))
	c := newTestClient(Options{})
	p, err := remote.NewPuller()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"app/img:v1", "app/img@" + d.String(), "app/idx:v1"} {
		ref := tr.ref(t, s)
		mu.Lock()
		accept = nil
		mu.Unlock()
		got, err := c.Resolve(context.Background(), ref)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want, err := p.Head(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != want.Digest || got.Size != want.Size || got.MediaType != want.MediaType {
			t.Errorf("%s: got %+v, Puller.Head %+v", s, got, *want)
		}
		mu.Lock()
		if len(accept) != 2 || accept[0] != accept[1] {
			t.Errorf("%s: Accept headers %q, want ggcr's twice", s, accept)
		}
		mu.Unlock()
	}
	if !strings.Contains(accept[0], string(types.OCIImageIndex)) || !strings.Contains(accept[0], string(types.DockerManifestSchema2)) {
		t.Errorf("Accept %q lacks the index or manifest types", accept[0])
	}
}

// An answer without the digest header, or with another digest than the one asked for,
// is an error, not a descriptor.
func TestHeadRefusesIncompleteAnswers(t *testing.T) {
	tr := newTestRegistry(t, nil)
	d := tr.push(t, "app/a:v1", tinyImage(t))
	other := tr.push(t, "app/b:v1", tinyImage(t))
	tr.before = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodHead || !isManifest(r) {
			return false
		}
		w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
		w.Header().Set("Content-Length", "10")
		if strings.Contains(r.URL.Path, "/manifests/sha256:") {
			w.Header().Set("Docker-Content-Digest", other.String())
		}
		w.WriteHeader(http.StatusOK)
		return true
	}
	c := newTestClient(Options{})
	for s, want := range map[string]string{
		"app/a:v1":                "did not include Docker-Content-Digest",
		"app/a@" + d.String():     "does not match requested digest",
		"app/a@" + other.String(): "",
	} {
		_, err := c.Resolve(context.Background(), tr.ref(t, s))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: err %v, want %q", s, err, want)
		}
	}
}

// A registry that redirects a manifest HEAD is followed on the same host (the HEAD
// stays a HEAD), and never to a private address on another host.
func TestHeadFollowsRedirects(t *testing.T) {
	tr := newTestRegistry(t, nil)
	d := tr.push(t, "app/a:v1", tinyImage(t))
	tr.push(t, "app/moved:v1", tinyImage(t))
	var target string
	tr.before = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/app/a/manifests/old" {
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return true
		}
		return false
	}
	c := newTestClient(Options{})
	target = "/v2/app/a/manifests/v1"
	got, err := c.Resolve(context.Background(), tr.ref(t, "app/a:old"))
	if err != nil || got.Digest != d {
		t.Fatalf("same-host redirect: %v, %v; want %s", got.Digest, err, d)
	}
	if tr.head.Load() != 2 || tr.get.Load() != 0 {
		t.Errorf("requests: %s, want 2 HEADs (the redirect and its target), no GET", tr.counts())
	}
	port := tr.host[strings.LastIndex(tr.host, ":"):]
	target = "http://127.0.0.2" + port + "/v2/app/moved/manifests/v1"
	if _, err := c.Resolve(context.Background(), tr.ref(t, "app/a:old")); err == nil || !strings.Contains(err.Error(), "SSRF") {
		t.Errorf("redirect to another loopback host: err %v, want refused", err)
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string // "" when not an address
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"10.1", "10.0.0.1"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"fe80::1%eth0", "fe80::1"},
		{"256.0.0.1", ""},
		{"registry.example.com", ""},
		{"", ""},
	} {
		a, ok := parseAddr(tc.host)
		if got := a.String(); ok != (tc.want != "") || ok && got != tc.want {
			t.Errorf("parseAddr(%q) = %s, %v; want %q", tc.host, got, ok, tc.want)
		}
	}
	pub := netip.MustParseAddr("203.0.113.7")
	for _, to := range []string{"http://10.0.0.1/x", "http://169.254.169.254/x", "http://[::1]:5000/x", "http://0.0.0.0/x"} {
		if err := checkRedirect(reqTo(t, to), []*http.Request{reqTo(t, "https://"+pub.String()+"/v2/")}); err == nil {
			t.Errorf("redirect to %s allowed", to)
		}
	}
	for _, to := range []string{"https://storage.example.com/x", "https://203.0.113.8/x", "https://" + pub.String() + ":444/x"} {
		if err := checkRedirect(reqTo(t, to), []*http.Request{reqTo(t, "https://"+pub.String()+"/v2/")}); err != nil {
			t.Errorf("redirect to %s refused: %v", to, err)
		}
	}
}

func reqTo(t *testing.T, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodHead, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
