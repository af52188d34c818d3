package container

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/api/types/container"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// Watchtower's lifecycle labels on the real engine: a pre-update command runs in the old
// container before it is replaced, one that exits 75 or outlives its timeout keeps its
// container as it is, the post-update command runs in the replacement, and a container
// whose depends-on names a replaced one is restarted after it.
func TestLifecycleHooks(t *testing.T) {
	e := newEnv(t)
	v1 := e.pushWithShell(t, "v1")
	v2 := e.pushWithShell(t, "v2")
	hooks := func(pre string, more ...string) *container.Config {
		l := map[string]string{policy.WatchtowerPreUpdate: pre}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return &container.Config{Labels: l}
	}
	a := e.run("-a", v1.Tag.String(), hooks("touch /tmp/pre", policy.WatchtowerPostUpdate, "touch /tmp/post"), nil, nil)
	b := e.run("-b", v1.Tag.String(), hooks("exit 75"), nil, nil)
	slow := e.run("-slow", v1.Tag.String(), hooks("sleep 20s", policy.WatchtowerPreUpdateTimeout, "2s"), nil, nil)
	dep := e.run("-dep", v1.Tag.String(), &container.Config{Labels: map[string]string{policy.WatchtowerDependsOn: e.prefix + "-a"}}, nil, nil)
	other := e.run("-other", v1.Tag.String(), nil, nil, nil) // depends on nothing: left alone

	l := WithWatchtower(e.b, func(name string, _ map[string]string) *policy.Watchtower {
		if strings.HasPrefix(name, e.prefix) {
			return &policy.Watchtower{LifecycleHooks: true}
		}
		return nil
	})
	start := time.Now()
	res := l.Update(e.ctx, []updater.Workload{workload(b), workload(a), workload(slow)}, v2, plan(), nil, e.log)
	must(t, res, updater.Succeeded)
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("update took %s: the slow pre-update command was waited for past its timeout", took)
	}
	for _, want := range []string{e.prefix + "-b (pre-update command exited 75)", e.prefix + "-slow (pre-update command failed: did not end within 2s)"} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason %q lacks %q", res.Reason, want)
		}
	}
	names := e.names()
	if e.readFile(names[e.prefix+"-a-hoist-prev"], "/tmp/pre") == "" || e.readFile(names[e.prefix+"-a"], "/tmp/post") == "" {
		t.Error("pre-update did not run in the old container or post-update not in the new one")
	}
	if names[e.prefix+"-a"] == a.ID {
		t.Error("a was not replaced")
	}
	for _, c := range []container.InspectResponse{b, slow} {
		if now := e.inspect(c.ID); now.Config.Image != v1.Tag.String() || !running(now) || names[strings.TrimPrefix(c.Name, "/")] != c.ID {
			t.Errorf("%s changed: %s running %v", c.Name, now.Config.Image, running(now))
		}
	}
	if now := e.inspect(dep.ID); now.State.StartedAt == dep.State.StartedAt || !running(now) {
		t.Errorf("the dependent was not restarted: started %s, before %s", now.State.StartedAt, dep.State.StartedAt)
	}
	if now := e.inspect(other.ID); now.State.StartedAt != other.State.StartedAt {
		t.Error("a container that depends on nothing was restarted")
	}

	// Alone, a container whose pre-update command exits 75 makes the rollout a skip:
	// nothing failed, so nothing is rolled back or quarantined.
	res = l.Update(e.ctx, []updater.Workload{workload(e.inspect(b.ID))}, v2, plan(), nil, e.log)
	must(t, res, updater.Skipped)
}

func TestByDependencies(t *testing.T) {
	w := func(name, deps string) updater.Workload {
		return updater.Workload{Name: name, Labels: map[string]string{policy.WatchtowerDependsOn: deps}}
	}
	cases := []struct {
		in   []updater.Workload
		want string
	}{
		{[]updater.Workload{w("web", "db"), w("db", "")}, "db,web"},
		{[]updater.Workload{w("web", "api, cache"), w("api", "db"), w("cache", ""), w("db", "")}, "cache,db,api,web"},
		{[]updater.Workload{w("web", "elsewhere"), w("db", "")}, "web,db"},
		{[]updater.Workload{w("a", "b"), w("b", "a"), w("c", "")}, "c,a,b"}, // a cycle keeps its order
		{[]updater.Workload{w("self", "self")}, "self"},
	}
	for _, c := range cases {
		var got []string
		for _, x := range byDependencies(c.in) {
			got = append(got, x.Name)
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%v: %s, want %s", c.in, strings.Join(got, ","), c.want)
		}
	}
}

// pushWithShell pushes the test app with testdata/sh as /sh (the lifecycle commands run
// with sh -c) as app:<tag>.
func (e *env) pushWithShell(t *testing.T, tag string) updater.Target {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sh")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/sh")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/sh: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "sh", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	tw.Write(data)
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(testenv.Image(t, testenv.App{Version: tag}), layer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(e.reg.Host + "/app:" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return updater.Target{Tag: ref, Digest: v1.Hash(d)}
}

// A dependent that is itself a replacement still being watched is not restarted.
func TestInRollout(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := WithWatchtower(&Backend{now: func() time.Time { return now }}, nil)
	swapped := map[string]string{LabelSwapOf: "abc", LabelWatch: "30s"}
	cases := []struct {
		labels  map[string]string
		created time.Time
		want    bool
	}{
		{swapped, now.Add(-10 * time.Second), true},
		{swapped, now.Add(-80 * time.Second), true}, // within watch + a minute
		{swapped, now.Add(-5 * time.Minute), false},
		{map[string]string{LabelWatch: "30s"}, now, false},
		{map[string]string{LabelSwapOf: "abc"}, now, false},
		{nil, now, false},
	}
	for i, c := range cases {
		if got := l.inRollout(c.labels, c.created.Unix()); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
