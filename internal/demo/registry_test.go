package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A push of a tag reaches the webhook as Distribution's notification of it, with the
// bearer token; a push of the same image again does too (as `docker push` does); the
// registry notes pushes, notifications and who asked for the tag.
func TestRegistryNotifiesPushes(t *testing.T) {
	type event struct {
		Action string
		Target struct{ Repository, Tag, Digest, MediaType string }
	}
	var mu sync.Mutex
	var got []event
	var auth []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Events []event }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		mu.Lock()
		got = append(got, body.Events...)
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()

	reg, err := StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, err := Image(fakeLayer(t), Version{Name: "v1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := reg.Host + "/demo:live"
	// Before NotifyTo nobody is told.
	if _, err := Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	reg.NotifyTo(hook.URL, "secret-token")
	if err := Repush(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(tag); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Action != "push" || got[0].Target.Repository != "demo" || got[0].Target.Tag != "live" ||
		got[0].Target.Digest != dg.String() || auth[0] != "Bearer secret-token" {
		t.Fatalf("notifications %+v (auth %q); want one push of demo:live %s with the token", got, auth, dg)
	}
	kinds := map[NoteKind]int{}
	for _, n := range reg.Notes(0) {
		if n.Kind == TagAsked && n.Agent != "" && !strings.Contains(n.Agent, PushAgent) {
			kinds["asked-by-other"]++
		}
		kinds[n.Kind]++
	}
	if kinds[Pushed] != 2 || kinds[Notified] != 1 || kinds["asked-by-other"] != 1 {
		t.Errorf("notes by kind %v; want 2 pushed, 1 notified, 1 tag asked by a client other than the demo's pusher", kinds)
	}
}

func TestManifestPath(t *testing.T) {
	for _, tc := range []struct{ path, repo, ref string }{
		{"/v2/demo/manifests/live", "demo", "live"},
		{"/v2/a/b/manifests/sha256:00", "a/b", "sha256:00"},
		{"/v2/demo/blobs/sha256:00", "", ""},
		{"/v2/", "", ""},
	} {
		repo, ref, _ := manifestPath(tc.path)
		if repo != tc.repo || ref != tc.ref {
			t.Errorf("%s: %q %q, want %q %q", tc.path, repo, ref, tc.repo, tc.ref)
		}
	}
}

// fakeLayer is a layer of a file that is no program: enough for a registry.
func fakeLayer(t *testing.T) v1.Layer {
	t.Helper()
	l, err := fileLayer([]byte("not a program"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}
