package app

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/webhook"
)

// A reload that changes a registry's password is used from the next request: the
// registry (in process, Basic auth) refuses hoist before, and answers it after. A
// file that does not load changes nothing and says where.
func TestReloadRegistries(t *testing.T) {
	const user, pass = "hoist", "the-right-password-0123"
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(64, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "hoist.yaml")
	file := func(password, extra string) {
		body := fmt.Sprintf("listen: 127.0.0.1:8080\ndata_dir: %s\nregistries:\n  - { host: %q, username: %s, password: %s }\n"+
			"policies:\n  - name: p\n    match: { services: [x] }\n%s", filepath.Join(dir, "data"), host, user, password, extra)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file("a-wrong-password-0123", "")
	ctx := context.Background()
	load := func(ctx context.Context) (*config.Config, error) {
		return config.LoadFile(ctx, path, func(string) string { return "" }, config.Limits{})
	}
	cfg, err := load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, plans, intervals, err := Policies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := newLiveRegistry(NewRegistry(cfg))
	store, err := OpenStore(filepath.Join(dir, "data"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{Policies: set, Plans: plans, Resolver: reg, Store: store, Log: zerolog.Nop()})
	var live atomic.Pointer[policy.Set]
	live.Store(set)
	metrics := api.NewMetrics()
	rl := newReloader(path, load, cfg, intervals, liveParts{u: u, policies: &live,
		hooks: webhook.New(cfg.Webhooks, u, zerolog.Nop()), reg: reg, notifier: newNotifier(cfg, zerolog.Nop())}, metrics, zerolog.Nop())

	if _, err := reg.Resolve(ctx, ref); err == nil {
		t.Fatal("the wrong password was taken")
	}
	file(pass, "    bogus: 1\n")
	if err := rl.reload(ctx, "sighup"); err == nil || !strings.Contains(err.Error(), "hoist.yaml:8") {
		t.Fatalf("broken file: %v; want refused naming hoist.yaml:8", err)
	}
	if _, err := reg.Resolve(ctx, ref); err == nil {
		t.Fatal("a refused file's password was taken")
	}
	if st := rl.Status(); st.LastReload == nil || st.LastReload.Success {
		t.Fatalf("status %+v", st)
	}
	file(pass, "")
	if err := rl.reload(ctx, "sighup"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Resolve(ctx, ref); err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	if st := rl.Status(); !st.LastReload.Success || len(st.LastReload.NeedsRestart) != 0 {
		t.Fatalf("status %+v", st.LastReload)
	}
}
