package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hoist runs as a container (the engine's socket mounted, its store on a volume, a
// policy for itself) and polls its own tag. A good new image of hoist takes over: the
// rollout record ends succeeded, written by the new hoist in its new container. A
// crashing image is rolled back by the switcher: the old hoist runs again, records the
// rollback and quarantines the digest.
func TestE2ESelfUpdate(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	cname := "e2e-self-" + randHex(3)
	ref := reg.Host + "/" + cname + "/hoist:live"
	base := testenv.BinaryImage(t, linuxHoist(t), []string{"/hoist", "serve", "--config", "/etc/hoist/hoist.yaml"})
	pushImage(t, ref, base)
	h := startSelfHoist(t, dc, cname, ref, 5*time.Second)
	selfUpdates(t, dc, h, cname, ref, base, nil)
}

// selfUpdates pushes a good new hoist, then a crashing one, to ref and checks what the
// hoist running as container cname makes of each; after is called once each has ended
// (stage "good", "crash") with the ID of the container that runs hoist, and returns the
// one that runs it then.
func selfUpdates(t *testing.T, dc *client.Client, h *hoistProc, cname, ref string, base v1.Image, after func(stage, id string) string) {
	t.Helper()
	key := "container/" + cname
	oldID := inspectID(t, dc, cname)

	// A good new hoist: the same binary and one more file.
	d2 := pushImage(t, ref, withFile(t, base, "VERSION", "2\n"))
	r := waitSelfRollout(t, h, key, d2.String(), 4*time.Minute)
	newID := inspectID(t, dc, cname)
	if r.Outcome != updater.Succeeded || newID == oldID || !strings.Contains(r.Reason, "recorded by the hoist in container "+newID[:12]) ||
		!strings.HasPrefix(r.Reason, updater.RestartNote) {
		t.Fatalf("good image: want succeeded, recorded by the new hoist %.12s (old %.12s); got %s: %s", newID, oldID, r.Outcome, r.Reason)
	}
	if img := inspectContainer(t, dc, cname).Config.Image; !strings.HasSuffix(img, "@"+d2.String()) {
		t.Fatalf("hoist's container runs %s, want the new digest %s", img, d2)
	}
	assertGone(t, dc, cname+"-hoist-switch", cname+"-hoist-old")
	t.Logf("good image: %s in %s: %s", r.Outcome, r.Ended.Sub(r.Started).Round(time.Millisecond), r.Reason)
	if after != nil {
		newID = after("good", newID)
	}

	// A crashing new hoist: the switcher brings the good one back.
	d3 := testenv.PushApp(t, ref, testenv.App{Mode: testenv.Crash, Version: "self-crash"})
	r = waitSelfRollout(t, h, key, d3.String(), 4*time.Minute)
	if r.Outcome != updater.RolledBack || !strings.Contains(r.Reason, "recorded by the hoist in container "+newID[:12]) {
		t.Fatalf("crashing image: want rolled_back recorded by %.12s; got %s: %s", newID, r.Outcome, r.Reason)
	}
	if id := inspectID(t, dc, cname); id != newID {
		t.Fatalf("after the rollback %s is %.12s, want the hoist that ran before %.12s", cname, id, newID)
	}
	assertGone(t, dc, cname+"-hoist-switch", cname+"-hoist-failed", cname+"-hoist-old")
	t.Logf("crashing image: %s in %s: %s", r.Outcome, r.Ended.Sub(r.Started).Round(time.Millisecond), r.Reason)
	if !quarantined(t, h, key, d3.String()) {
		t.Fatalf("digest %s not quarantined for %s", d3, key)
	}
	// Polls go on every second: the quarantined digest is not tried again.
	time.Sleep(5 * time.Second)
	n := 0
	for _, r := range selfRollouts(h, key) {
		if strings.HasSuffix(r.To, d3.String()) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d rollouts to the crashing digest, want 1", n)
	}
	if after != nil {
		after("crash", newID)
	}
}

// hoist runs as a service of a docker-compose (1.29) project and updates itself: after
// the good image and after the crashing one, compose counts one container for the
// service, running hoist; after `docker-compose up -d` too, on the image hoist deployed
// (compose 1.29 recreates a container whose config hash names another image ID than
// the service's tag: hoist moved the tag, as a pull would); `down` leaves nothing.
func TestE2ESelfUpdateCompose(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	proj := "e2eself" + randHex(3)
	ref := reg.Host + "/" + proj + "/hoist:live"
	base := testenv.BinaryImage(t, linuxHoist(t), []string{"/hoist", "serve", "--config", "/etc/hoist/hoist.yaml"})
	pushImage(t, ref, base)
	dir := t.TempDir()
	_, h := selfConfig(t, dir, proj, 5*time.Second)
	file := fmt.Sprintf(`version: "2.4"
services:
  hoist:
    image: %s
    network_mode: host
    restart: unless-stopped
    labels:
      hoist.policy: %s
    volumes:
      - %s:/var/run/docker.sock
      - ./hoist.yaml:/etc/hoist/hoist.yaml:ro
      - data:/data
volumes:
  data:
`, ref, proj, engineSocket())
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := composeRunner(t, "docker-compose", dir, proj)
	cname := proj + "_hoist_1"
	t.Cleanup(func() {
		compose("down", "-v")
		removeSelf(dc, cname, strings.Split(ref, ":live")[0])
	})
	compose("up", "-d")
	waitSelfUp(t, dc, h, cname)
	// member is the one container compose counts, running image.
	member := func(stage, image string) string {
		t.Helper()
		ms := composeMembers(t, dc, proj)
		if len(ms) != 1 || ms[0].Name != "/"+cname || !ms[0].State.Running || ms[0].Image != image {
			t.Fatalf("%s: compose counts %v, want only %s running %s", stage, imagesOf(ms), cname, image)
		}
		return ms[0].ID
	}
	selfUpdates(t, dc, h, cname, ref, base, func(stage, id string) string {
		img := inspectContainer(t, dc, id).Image
		if got := member(stage, img); got != id {
			t.Fatalf("%s: compose counts %.12s, want %.12s", stage, got, id)
		}
		compose("up", "-d")
		waitSelfUp(t, dc, h, cname)
		id = member(stage+", then docker-compose up -d", img)
		t.Logf("%s, then docker-compose up -d: %s runs %.19s in %.12s", stage, cname, img, id)
		return id
	})
	compose("down", "-v")
	if ms := composeMembers(t, dc, proj); len(ms) != 0 {
		t.Fatalf("after docker-compose down: %v", imagesOf(ms))
	}
	l, err := dc.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", cname)})
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("after docker-compose down, containers named after %s: %d (%v)", cname, len(l.Items), err)
	}
}

// The switcher is killed while it watches the new hoist (as an engine restart would):
// the new hoist finds it ended without a verdict, starts it again, and the switcher
// carries on from the engine's state (the old hoist stopped, the new one running),
// judges the new hoist and passes it.
func TestE2ESelfUpdateSwitcherKilled(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	cname := "e2e-selfk-" + randHex(3)
	ref := reg.Host + "/" + cname + "/hoist:live"
	base := testenv.BinaryImage(t, linuxHoist(t), []string{"/hoist", "serve", "--config", "/etc/hoist/hoist.yaml"})
	pushImage(t, ref, base)
	h := startSelfHoist(t, dc, cname, ref, 20*time.Second)
	oldID := inspectID(t, dc, cname)
	d2 := pushImage(t, ref, withFile(t, base, "VERSION", "2\n"))

	// Wait for the switch: the new hoist runs under the name, the switcher watches it.
	sw := cname + "-hoist-switch"
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur, err1 := dc.ContainerInspect(t.Context(), cname, client.ContainerInspectOptions{})
		s, err2 := dc.ContainerInspect(t.Context(), sw, client.ContainerInspectOptions{})
		if err1 == nil && err2 == nil && cur.Container.ID != oldID && cur.Container.State.Running && s.Container.State.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no switch under way within 2m (%v, %v)", err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // well into the watch
	if _, err := dc.ContainerKill(t.Context(), sw, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	r := waitSelfRollout(t, h, "container/"+cname, d2.String(), 3*time.Minute)
	newID := inspectID(t, dc, cname)
	if r.Outcome != updater.Succeeded || newID == oldID || !strings.Contains(r.Reason, "started again (1 times)") ||
		!strings.Contains(r.Reason, "recorded by the hoist in container "+newID[:12]) {
		t.Fatalf("want succeeded after the switcher was started again, recorded by %.12s; got %s: %s", newID, r.Outcome, r.Reason)
	}
	assertGone(t, dc, sw, cname+"-hoist-old")
	t.Logf("%s in %s: %s", r.Outcome, r.Ended.Sub(r.Started).Round(time.Millisecond), r.Reason)
}
