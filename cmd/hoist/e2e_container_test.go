package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A standalone container that opts in with the hoist.policy label is upgraded by
// polling; `hoist finish` drops the kept previous container; after the next upgrade
// `hoist rollback` brings the previous container back, and the digest rolled back
// from is not re-applied by later polls.
func TestE2EContainerUpgradeFinishRollback(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	ctx := context.Background()
	name := "e2e-ct-" + randHex(3)
	repo := reg.Host + "/" + name
	testenv.PushApp(t, repo+":stable", testenv.App{Version: "1"})

	pull, err := dc.ImagePull(ctx, repo+":stable", client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: repo + ":stable", Labels: map[string]string{"hoist.policy": name, "com.example.team": "demo"}},
		HostConfig: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "unless-stopped"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl, _ := dc.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", name)})
		for _, c := range cl.Items {
			dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	})
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}

	h := startHoist(t, `poll: { interval: 1s }
policies:
  - name: `+name+`
    rollout: { keep_previous: 1h }
    health: { watch: 3s, timeout: 2m }
`, nil)
	key := "container/" + name
	inspect := func(ref string) container.InspectResponse {
		t.Helper()
		r, err := dc.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatalf("inspect %s: %v", ref, err)
		}
		return r.Container
	}
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{args[0], "--config", h.Config}, args[1:]...), func(string) string { return "" }, &out, &errb)
		return out.String() + errb.String(), err
	}
	waitN := func(n int) updater.Rollout {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if rs := h.rollouts(t, key); len(rs) >= n && rs[0].Outcome != updater.Running {
				return rs[0]
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("no %d finished rollouts for %s", n, key)
		return updater.Rollout{}
	}

	// v1 → v2 by polling.
	d2 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "2"})
	if r := waitN(1); r.Outcome != updater.Succeeded {
		t.Fatalf("upgrade to v2: %s (%s)", r.Outcome, r.Reason)
	}
	c2 := inspect(name)
	if !strings.HasSuffix(c2.Config.Image, d2.String()) || c2.ID == cr.ID || c2.Config.Labels["com.example.team"] != "demo" {
		t.Fatalf("after upgrade: image %s id %s labels %v", c2.Config.Image, c2.ID, c2.Config.Labels)
	}
	inspect(name + "-hoist-prev") // kept for a manual rollback

	// finish drops the kept previous container.
	if out, err := cli("finish", key); err != nil {
		t.Fatalf("hoist finish: %v\n%s", err, out)
	}
	if _, err := dc.ContainerInspect(ctx, name+"-hoist-prev", client.ContainerInspectOptions{}); err == nil {
		t.Fatal("previous container still there after finish")
	}

	// v2 → v3, then a manual rollback to v2's container.
	d3 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "3"})
	if r := waitN(3); r.Outcome != updater.Succeeded || !strings.HasSuffix(r.To, d3.String()) {
		t.Fatalf("upgrade to v3: %s to %s (%s)", r.Outcome, r.To, r.Reason)
	}
	if out, err := cli("rollback", key); err != nil {
		t.Fatalf("hoist rollback: %v\n%s", err, out)
	}
	back := inspect(name)
	if back.ID != c2.ID || !back.State.Running {
		t.Fatalf("after rollback: id %s running %v, want v2's container %s running", back.ID, back.State.Running, c2.ID)
	}
	// Several poll cycles later the rolled-back digest has not come back.
	time.Sleep(5 * time.Second)
	if now := inspect(name); now.ID != c2.ID {
		t.Fatalf("container replaced again after a manual rollback: %s", now.Config.Image)
	}
	// hoist retry lifts the quarantine: v3 comes back, now, without a new push.
	if out, err := cli("retry", key); err != nil || !strings.Contains(out, "1 failed digest(s) may be tried again") {
		t.Fatalf("hoist retry: %v\n%s", err, out)
	}
	// The retry's own check and the next poll cycle (every second here) race to start it.
	if r := waitN(5); r.Outcome != updater.Succeeded || !strings.HasSuffix(r.To, d3.String()) || r.Trigger != "retry" && r.Trigger != "poll" {
		t.Fatalf("after retry: %s to %s by %s (%s), want v3 again by retry or poll", r.Outcome, r.To, r.Trigger, r.Reason)
	}
	if out, err := cli("retry", key); err == nil || !strings.Contains(err.Error(), "nothing quarantined") {
		t.Fatalf("retry with nothing quarantined: %v %s", err, out)
	}
	if out, err := cli("rollback", "container/does-not-exist"); err == nil || !strings.Contains(err.Error(), "no such workload") {
		t.Fatalf("rollback of an unknown workload: %v %s", err, out)
	}
}
