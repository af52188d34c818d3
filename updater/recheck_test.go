package updater

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// Distribution notifies a manifest push before it moves the tag: the first lookup
// still sees the old digest. hoist asks again and rolls the push out; a notification
// of a tag that really did not move costs two more lookups, no loop.
func TestPushNotifiedBeforeTagMoved(t *testing.T) {
	var heads atomic.Int32
	inner := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/stable") {
			heads.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	eng := &flakyEngine{updated: make(chan Target, 1),
		w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	u := flakyUpdater(t, eng, registry.Options{}, nil)
	tag, _ := name.NewTag(ref)
	time.Sleep(100 * time.Millisecond) // Run's first listing is done

	// The notification comes first; the tag moves a moment later.
	u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"})
	time.Sleep(500 * time.Millisecond)
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	eng.expectRollout(t, d2, 10*time.Second, "the push was lost: the notification came before the tag moved")

	// A notification of a tag that does not move: the first lookup and two re-checks.
	eng.w.Image = ref + "@" + d2.String()
	u.invalidate()
	time.Sleep(time.Second)
	before := heads.Load()
	u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "harbor"})
	time.Sleep(pushRechecks[0] + pushRechecks[1] + 3*time.Second)
	if n := heads.Load() - before; n != 3 {
		t.Errorf("%d lookups of the tag for one notification of an unmoved tag, want 3", n)
	}
	if registry.FromWebhook("poll") || registry.FromWebhook("api") || !registry.FromWebhook("distribution") {
		t.Error("FromWebhook takes hoist's own triggers for webhooks or the other way round")
	}
}
