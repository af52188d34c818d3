package container

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// composeLabels are the labels compose would put on service svc of project.
func composeLabels(project, svc string) map[string]string {
	return map[string]string{
		labelComposeProject: project, labelComposeService: svc,
		"com.docker.compose.oneoff": "False", "com.docker.compose.container-number": "1",
	}
}

// members lists the containers compose counts as service svc's (by its labels).
func (e *env) members(project, svc string) []container.Summary {
	e.t.Helper()
	f := client.Filters{}.Add("label", labelComposeProject+"="+project).Add("label", labelComposeService+"="+svc).Add("label", "com.docker.compose.oneoff=False")
	r, err := e.c.ContainerList(e.ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Items
}

// imageID is the image ID a reference names on the engine.
func (e *env) imageID(ref string) string {
	e.t.Helper()
	img, err := e.c.ImageInspect(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("inspect image %s: %v", ref, err)
	}
	return img.ID
}

// A compose member is replaced without a kept container: compose sees one container
// under its name, the replacement names the previous image, the engine's local tag and
// Compose v2's image label follow the deployed image, and a manual rollback swaps back
// onto the previous image, again as one container, moving the tag back.
func TestComposeMemberKeepsNoContainer(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("live", testenv.App{Version: "v1-" + e.prefix})
	tag := v1.Tag.String()
	project := e.prefix
	labels := composeLabels(project, "web")
	old := e.run("", tag, &container.Config{Labels: labels}, nil, nil)
	v1ID := old.Image
	// Compose v2 labels the container with the image ID it was created from.
	old = e.recreateWithLabel(old, labelComposeImage, v1ID)
	v2 := e.push("live", testenv.App{Version: "v2-" + e.prefix})

	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, v2, plan(), nil, e.log)
	must(t, r, updater.Succeeded)
	names := e.names()
	if len(names) != 1 || names[e.prefix] == "" || names[e.prefix] == old.ID {
		t.Fatalf("containers after the rollout: %v, want only the replacement under %s", names, e.prefix)
	}
	if ms := e.members(project, "web"); len(ms) != 1 || ms[0].ID != names[e.prefix] {
		t.Fatalf("compose would count %d containers of web: %+v", len(ms), ms)
	}
	nw := e.inspect(names[e.prefix])
	v2ID := nw.Image
	if want := tag + "@" + v1.Digest.String(); nw.Config.Labels[LabelPreviousImage] != want {
		t.Errorf("%s = %q, want %q", LabelPreviousImage, nw.Config.Labels[LabelPreviousImage], want)
	}
	if nw.Config.Labels[labelComposeImage] != v2ID {
		t.Errorf("%s = %q, want the new image %s", labelComposeImage, nw.Config.Labels[labelComposeImage], v2ID)
	}
	if got := e.imageID(tag); got != v2ID {
		t.Errorf("local tag %s names %s, want the deployed %s", tag, got, v2ID)
	}
	w := e.listed(nw.ID)
	if !w.HasPrevious {
		t.Fatalf("listed without a previous: %+v", w)
	}
	if err := e.b.Finish(e.ctx, w); err != nil {
		t.Fatalf("Finish of a compose member: %v", err)
	}

	if err := e.b.Rollback(e.ctx, w); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	names = e.names()
	back := e.inspect(names[e.prefix])
	if len(names) != 1 || back.ID == nw.ID || !running(back) || back.Image != v1ID {
		t.Fatalf("after the rollback: %v, %s runs %s (running %v), want one container on %s", names, e.prefix, back.Image, running(back), v1ID)
	}
	if ms := e.members(project, "web"); len(ms) != 1 {
		t.Errorf("compose would count %d containers of web after the rollback", len(ms))
	}
	if got := e.imageID(tag); got != v1ID {
		t.Errorf("local tag %s names %s after the rollback, want %s", tag, got, v1ID)
	}
	if back.Config.Labels[labelComposeImage] != v1ID || back.Config.Labels[LabelPreviousImage] != "" {
		t.Errorf("labels after the rollback: %v", back.Config.Labels)
	}
	if w := e.listed(back.ID); w.HasPrevious {
		t.Errorf("a previous listed after the rollback: %+v", w)
	}
	if err := e.b.Rollback(e.ctx, e.listed(back.ID)); !errors.Is(err, errNoPrevious) {
		t.Errorf("a second rollback: %v, want %v", err, errNoPrevious)
	}
}

// A failed rollout of a compose member leaves the engine's local tag where it was.
func TestComposeFailedRolloutKeepsTag(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("live", testenv.App{Version: "v1-" + e.prefix})
	tag := v1.Tag.String()
	old := e.run("", tag, &container.Config{Labels: composeLabels(e.prefix, "web")}, nil, nil)
	bad := e.push("live", testenv.App{Version: "v2-" + e.prefix, Mode: testenv.Crash})
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, plan(), nil, e.log), updater.RolledBack)
	if got := e.imageID(tag); got != old.Image {
		t.Errorf("local tag %s names %s after a rollback, want %s", tag, got, old.Image)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID {
		t.Errorf("containers after the rollback: %v", names)
	}
}

// listed is the workload List gives for the container id.
func (e *env) listed(id string) updater.Workload {
	e.t.Helper()
	ws, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, w := range ws {
		if w.ID == id {
			return w
		}
	}
	e.t.Fatalf("container %.12s not listed", id)
	return updater.Workload{}
}

// recreateWithLabel replaces c by a copy with one more label (labels are fixed at create).
func (e *env) recreateWithLabel(c container.InspectResponse, k, v string) container.InspectResponse {
	e.t.Helper()
	cfg := *c.Config
	cfg.Labels[k] = v
	cfg.Hostname = ""
	if _, err := e.c.ContainerRemove(e.ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		e.t.Fatal(err)
	}
	return e.run(strings.TrimPrefix(strings.TrimPrefix(c.Name, "/"), e.prefix), cfg.Image, &cfg, c.HostConfig, nil)
}

// A container in another's network namespace (network_mode: service:web) is recreated
// onto the replacement's namespace, on the image it runs; when the rollout fails, it
// gets the old namespace back. Its health check reaches web's port through the shared
// namespace, so it is healthy only where it shares a live one.
func TestFollowersJoinTheNewNamespace(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1-" + e.prefix})
	side1 := e.push("side", testenv.App{Version: "side"})
	web := e.run("-web", v1.Tag.String(), nil, nil, nil)
	side := e.run("-side", side1.Tag.String(), &container.Config{Cmd: []string{"-listen=:8081"}},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + web.ID)}, nil)

	bad := e.push("v2", testenv.App{Version: "v2-" + e.prefix, Mode: testenv.LateCrash, CrashAfter: 2500 * time.Millisecond})
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(web)}, bad, plan(), nil, e.log), updater.RolledBack)
	names := e.names()
	if names[e.prefix+"-web"] != web.ID || names[e.prefix+"-side"] != side.ID || len(names) != 2 {
		t.Fatalf("after a failed rollout: %v, want web %.12s and side %.12s back", names, web.ID, side.ID)
	}
	e.waitHealthy(side.ID) // in web's namespace again

	v2 := e.push("v2", testenv.App{Version: "v2-" + e.prefix})
	r := e.b.Update(e.ctx, []updater.Workload{workload(e.inspect(web.ID))}, v2, plan(), nil, e.log)
	must(t, r, updater.Succeeded)
	if !strings.Contains(r.Reason, "-side (in ") {
		t.Errorf("reason %q does not name the recreated side container", r.Reason)
	}
	names = e.names()
	nw, ns := names[e.prefix+"-web"], names[e.prefix+"-side"]
	if nw == web.ID || ns == side.ID || len(names) != 3 { // web's previous is kept
		t.Fatalf("after the rollout: %v", names)
	}
	got := e.inspect(ns)
	if got.HostConfig.NetworkMode != container.NetworkMode("container:"+nw) || got.Image != side.Image || !running(got) {
		t.Fatalf("side: network %s image %s running %v, want container:%s on %s", got.HostConfig.NetworkMode, got.Image, running(got), nw, side.Image)
	}
	e.waitHealthy(ns)
}

// waitHealthy waits for a container's health check to pass.
func (e *env) waitHealthy(id string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if _, err := e.b.waitHealthy(ctx, id, nil); err != nil {
		e.t.Fatalf("%.12s: %v", id, err)
	}
}

// A container under a name hoist reserves is never passed over silently: a kept
// previous that runs, or one compose counts as a member, is listed with the reason;
// a previous kept stopped by a swap is not.
func TestListPassedOver(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1-" + e.prefix})
	v2 := e.push("v2", testenv.App{Version: "v2-" + e.prefix})
	plain := e.run("-plain", v1.Tag.String(), nil, nil, nil)
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(plain)}, v2, plan(), nil, e.log), updater.Succeeded)
	e.run("-web"+suffixPrev, v1.Tag.String(), nil, nil, nil)
	legacy := e.run("-db"+suffixPrev, v1.Tag.String(), &container.Config{Labels: composeLabels(e.prefix, "db")}, nil, nil)
	if _, err := e.c.ContainerStop(e.ctx, legacy.ID, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	ws, err := e.b.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range ws {
		if strings.HasPrefix(w.Name, e.prefix) {
			got[w.Name] = w.Unmanaged
		}
	}
	if why, ok := got[e.prefix+"-web"+suffixPrev]; !ok || !strings.Contains(why, "and it runs") {
		t.Errorf("a running kept previous: listed %v, reason %q", ok, why)
	}
	if why, ok := got[e.prefix+"-db"+suffixPrev]; !ok || !strings.Contains(why, "compose counts it") {
		t.Errorf("a kept previous with compose's labels: listed %v, reason %q", ok, why)
	}
	if why, ok := got[e.prefix+"-plain"+suffixPrev]; ok {
		t.Errorf("the previous a swap kept is listed: %q", why)
	}
	if why := got[e.prefix+"-plain"]; why != "" {
		t.Errorf("the upgraded container is listed as unmanaged: %q", why)
	}
}

// A swap of a compose member cut once its replacement held the name is completed by
// Recover as Update would have: the old container removed (not kept), the local tag
// moved to what runs, and a container in the old one's namespace moved to the new one.
func TestRecoverComposeMember(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("live", testenv.App{Version: "v1-" + e.prefix})
	side1 := e.push("side", testenv.App{Version: "side"})
	tag := v1.Tag.String()
	old := e.run("", tag, &container.Config{Labels: composeLabels(e.prefix, "web")}, nil, nil)
	side := e.run("-side", side1.Tag.String(), &container.Config{Cmd: []string{"-listen=:8081"}},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + old.ID)}, nil)
	v2 := e.push("live", testenv.App{Version: "v2-" + e.prefix})
	if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
		t.Fatal(err)
	}
	// What swap.replace does (start-first), up to the replacement holding the name.
	s := e.b.newSwap(old, v2.Image(), plan(), e.log)
	if err := s.create(e.ctx, e.prefix+suffixNext); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return e.b.start(e.ctx, s.newID) },
		func() error { return e.b.rename(e.ctx, old.ID, e.prefix+suffixOld) },
		func() error { return e.b.rename(e.ctx, s.newID, e.prefix) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}

	if err := e.b.Recover(e.ctx, e.log); err != nil {
		t.Fatal(err)
	}
	names := e.names()
	if names[e.prefix] != s.newID || len(names) != 2 || names[e.prefix+"-side"] == side.ID {
		t.Fatalf("after recover: %v, want %s = %.12s and side recreated, nothing kept", names, e.prefix, s.newID)
	}
	if got := e.imageID(tag); got != e.inspect(s.newID).Image {
		t.Errorf("local tag %s names %s, want the deployed image", tag, got)
	}
	ns := e.inspect(names[e.prefix+"-side"])
	if ns.HostConfig.NetworkMode != container.NetworkMode("container:"+s.newID) {
		t.Errorf("side joins %s, want container:%s", ns.HostConfig.NetworkMode, s.newID)
	}
	e.waitHealthy(ns.ID)
}

// Two compose services share a tag: rolling back one leaves the local tag on the image
// the other runs (compose would move that one too); rolling back the last moves it.
func TestRollbackOfAGroupMovesTheTagLast(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("live", testenv.App{Version: "v1-" + e.prefix})
	tag := v1.Tag.String()
	var ws []updater.Workload
	for _, svc := range []string{"web", "worker"} {
		ws = append(ws, workload(e.run("-"+svc, tag, &container.Config{Labels: composeLabels(e.prefix, svc)}, nil, nil)))
	}
	v1ID := e.imageID(tag)
	v2 := e.push("live", testenv.App{Version: "v2-" + e.prefix})
	must(t, e.b.Update(e.ctx, ws, v2, plan(), nil, e.log), updater.Succeeded)
	v2ID := e.imageID(tag)
	if v2ID == v1ID {
		t.Fatal("the local tag did not move")
	}
	names := e.names()
	if err := e.b.Rollback(e.ctx, e.listed(names[e.prefix+"-web"])); err != nil {
		t.Fatal(err)
	}
	if got := e.imageID(tag); got != v2ID {
		t.Errorf("after rolling back web alone the tag names %s, want %s (worker runs it)", got, v2ID)
	}
	if err := e.b.Rollback(e.ctx, e.listed(names[e.prefix+"-worker"])); err != nil {
		t.Fatal(err)
	}
	if got := e.imageID(tag); got != v1ID {
		t.Errorf("after rolling back both the tag names %s, want %s", got, v1ID)
	}
	for _, svc := range []string{"web", "worker"} {
		if ms := e.members(e.prefix, svc); len(ms) != 1 || ms[0].ImageID != v1ID {
			t.Errorf("%s: compose counts %+v, want one container on %s", svc, ms, v1ID)
		}
	}
}
