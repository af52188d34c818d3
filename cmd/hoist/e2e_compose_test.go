package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A docker compose project upgraded by hoist behaves as if compose itself had pulled
// and recreated it, for Debian's docker-compose 1.29 and for Compose v2: after a
// rollout and after a rollback, compose counts one container per service (all on the
// image hoist deployed), and its ps, up -d, up -d --force-recreate, restart and down
// neither bring an old image back nor leave anything behind.
func TestE2EComposeV1(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		testenv.Missing(t, "Debian's docker-compose (v1) is not installed: "+err.Error())
	}
	// Compose v1 restarts every container at once, and one in another's network
	// namespace fails when that one restarts at the same moment ("cannot join network
	// of a non running container", without hoist too): its restart comes after.
	// Its config hash holds the image ID the tag names: up -d recreates the services
	// hoist replaced once, on the image hoist deployed, and keeps db.
	testCompose(t, composeCase{bin: bin, sep: "_", kept: []string{"db"},
		restart: [][]string{{"restart", "web", "worker", "api", "db"}, {"restart", "sidecar"}}})
}

func TestE2EComposeV2(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("HOIST_COMPOSE_V2")
	if bin == "" {
		testenv.Missing(t, "HOIST_COMPOSE_V2 names no Compose v2 binary (scripts/test.sh builds one)")
	}
	if _, err := os.Stat(bin); err != nil {
		testenv.Missing(t, "Compose v2 binary: "+err.Error())
	}
	// Compose v2 writes depends_on into a label, copies configs and secrets in.
	// Its up -d compares the image label hoist set with the image the moved tag names
	// and keeps the replacements; it recreates the sidecar, whose config hash holds the
	// ID of the container whose namespace it shares (on the same image).
	testCompose(t, composeCase{bin: bin, sep: "-", files: composeV2Files, ordered: true, restart: [][]string{{"restart"}},
		kept: []string{"web", "worker", "api", "db"}})
}

// composeServices are the services of the test project hoist manages; db is not managed.
var composeServices = []string{"web", "sidecar", "worker", "api"}

const composeFile = `services:
  web:
    image: %[1]s:live
    ports: ["127.0.0.1:%[2]s:8080"]
    labels: { hoist.policy: %[3]s }
%[4]s
  sidecar:
    image: %[1]s:live
    command: ["-listen=:8081"]
    network_mode: "service:web"
    labels: { hoist.policy: %[3]s }
  worker:
    image: %[1]s:live
    labels: { hoist.policy: %[3]s }
  api:
    image: %[1]s:live
    depends_on: [worker]
    labels: { hoist.policy: %[3]s }
  db:
    image: %[1]s:db
%[5]s`

// composeV2Files gives web a config and a secret that Compose v2 copies into the
// container (inline content, an environment variable): files, not mounts.
const composeV2Files = `    configs: [{ source: greeting, target: /etc/greeting }]
    secrets: [token]
|configs:
  greeting: { content: "hello from compose" }
secrets:
  token: { environment: HC_TOKEN }
`

// composeProject is one compose project on the test engine.
type composeProject struct {
	t       *testing.T
	dc      *client.Client
	bin     string
	name    string
	file    string
	sep     string // separator compose puts in container names
	restart [][]string
	kept    []string
}

// composeCase is one compose implementation and what it does.
type composeCase struct {
	bin     string
	sep     string // separator compose puts in container names
	files   string // compose file lines for web's configs and secrets (composeV2Files)
	ordered bool   // compose labels depends_on: worker must be replaced before api
	restart [][]string
	// kept are the services whose containers up -d keeps after hoist replaced them.
	kept []string
}

func testCompose(t *testing.T, cc composeCase) {
	bin, sep, files, restart := cc.bin, cc.sep, cc.files, cc.restart
	dc, reg := shared(t)
	name := "hc" + randHex(4)
	repo := reg.Host + "/" + name
	// Each version is baked with the project's name: an image of its own, not shared with
	// a test running beside it (the tag moves back only once no container runs an image).
	testenv.PushApp(t, repo+":live", testenv.App{Version: "1-" + name})
	testenv.PushApp(t, repo+":db", testenv.App{Version: "db-" + name})
	dir := t.TempDir()
	p := &composeProject{t: t, dc: dc, bin: bin, name: name, file: filepath.Join(dir, "compose.yaml"), sep: sep, restart: restart, kept: cc.kept}
	port := strings.TrimPrefix(freePort(t), "127.0.0.1:")
	service, top, _ := strings.Cut(files, "|")
	if err := os.WriteFile(p.file, []byte(fmt.Sprintf(composeFile, repo, port, name, service, top)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.remove)
	p.run("up", "-d")
	p.waitHealthy()

	tok := randHex(16)
	h := startHoist(t, fmt.Sprintf(`poll: { interval: 0 }
webhooks:
  distribution: { token: %s }
policies:
  - name: %s
    rollout: { keep_previous: 1h, order: start-first, monitor: 1s }
    health: { watch: 3s, timeout: 2m }
`, tok, name), nil)
	push := func() {
		t.Helper()
		hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
		if code := post(t, h.URL+"/webhooks/distribution", hdr, distributionEvent(reg.Host, name, "live")); code != 202 {
			t.Fatalf("webhook: status %d", code)
		}
	}
	v1 := p.imageID(repo + ":live")
	db := p.imageID(repo + ":db")
	p.check("after up -d", v1, db)

	// v2 by webhook: every managed service moves, and compose agrees.
	d2 := testenv.PushApp(t, repo+":live", testenv.App{Version: "2-" + name})
	before := p.records(h)
	push()
	p.waitOutcomes(h, before, updater.Succeeded)
	if reason := h.rollouts(t, "container/"+p.containerName("api"))[0].Reason; cc.ordered &&
		strings.Index(reason, p.containerName("worker")) > strings.Index(reason, p.containerName("api")) {
		t.Errorf("api (depends_on: [worker]) was replaced before worker: %s", reason)
	}
	v2 := p.imageID(repo + "@" + d2.String())
	if got := p.imageID(repo + ":live"); got != v2 {
		t.Errorf("the local tag %s:live names %s, want the deployed %s", repo, got, v2)
	}
	if files != "" {
		p.checkFiles("after the rollout")
	}
	p.composeCommands("after the rollout", v2, db)

	// A crashing image: rolled back, v2 runs on, compose still agrees.
	testenv.PushApp(t, repo+":live", testenv.App{Version: "3-" + name, Mode: testenv.Crash})
	before = p.records(h)
	push()
	p.waitOutcomes(h, before, updater.RolledBack, updater.Failed)
	if got := p.imageID(repo + ":live"); got != v2 {
		t.Errorf("the local tag %s:live names %s after a rollback, want %s", repo, got, v2)
	}
	if files != "" {
		p.checkFiles("after the rollback")
	}
	p.composeCommands("after the rollback", v2, db)
	p.manualRollback(h, push, repo, v2, db)

	p.down()
	if left := p.containers(); len(left) > 0 {
		t.Errorf("containers left after down: %v", left)
	}
}

// manualRollback rolls v4 out, then rolls every service back by hand (hoist rollback):
// they end on v2, one container each, and once the last one is back the local tag
// names v2 again, so compose agrees.
func (p *composeProject) manualRollback(h *hoistProc, push func(), repo, v2, db string) {
	p.t.Helper()
	d4 := testenv.PushApp(p.t, repo+":live", testenv.App{Version: "4-" + p.name})
	before := p.records(h)
	push()
	p.waitOutcomes(h, before, updater.Succeeded)
	v4 := p.imageID(repo + "@" + d4.String())
	p.check("after v4", v4, db)
	for _, svc := range composeServices {
		key := "container/" + p.containerName(svc)
		for deadline := time.Now().Add(time.Minute); ; {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"rollback", "--config", h.Config, key}, func(string) string { return "" }, &out, &errb)
			if err == nil {
				break
			}
			// The group's check after the previous rollback may hold the slot a moment.
			if !strings.Contains(err.Error(), "in progress") || time.Now().After(deadline) {
				p.t.Fatalf("hoist rollback %s: %v\n%s%s", key, err, out.String(), errb.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	if got := p.imageID(repo + ":live"); got != v2 {
		p.t.Errorf("the local tag %s:live names %s after the manual rollbacks, want %s", repo, got, v2)
	}
	p.composeCommands("after the manual rollbacks", v2, db)
}

// composeCommands runs compose's everyday commands and checks after each that compose
// sees one container per service on the image hoist deployed.
func (p *composeProject) composeCommands(stage string, want, db string) {
	p.t.Helper()
	p.check(stage, want, db)
	before := p.ids()
	for i, cmds := range [][][]string{{{"up", "-d"}}, {{"up", "-d", "--force-recreate"}}, p.restart} {
		for _, args := range cmds {
			p.run(args...)
		}
		p.waitHealthy()
		if i == 0 {
			// What compose compares agrees with what runs: up -d keeps these containers.
			after := p.ids()
			for _, svc := range p.kept {
				if after[svc] != before[svc] {
					p.t.Errorf("%s: up -d recreated %s", stage, svc)
				}
			}
		}
		p.check(stage+", then "+cmds[0][0]+" "+strings.Join(cmds[0][1:], " "), want, db)
	}
}

// ids are the project's container IDs by service.
func (p *composeProject) ids() map[string]string {
	out := map[string]string{}
	for _, c := range p.containers() {
		out[c.Labels["com.docker.compose.service"]] = c.ID
	}
	return out
}

// check asserts what compose sees: one container per service, each running, the managed
// ones on want, db on its own image; `compose ps` lists exactly those.
func (p *composeProject) check(stage, want, db string) {
	p.t.Helper()
	byService := map[string][]container.Summary{}
	for _, c := range p.containers() {
		byService[c.Labels["com.docker.compose.service"]] = append(byService[c.Labels["com.docker.compose.service"]], c)
	}
	var ids []string
	for _, svc := range append(slices.Clone(composeServices), "db") {
		cs := byService[svc]
		if len(cs) != 1 {
			p.t.Errorf("%s: compose counts %d containers of %s: %v", stage, len(cs), svc, namesOf(cs))
			continue
		}
		img := want
		if svc == "db" {
			img = db
		}
		if cs[0].State != container.StateRunning || cs[0].ImageID != img {
			p.t.Errorf("%s: %s (%s) is %s on %s, want running on %s", stage, svc, namesOf(cs), cs[0].State, cs[0].ImageID, img)
		}
		ids = append(ids, cs[0].ID)
	}
	if len(byService) != len(composeServices)+1 {
		p.t.Errorf("%s: services seen %v", stage, keysOf(byService))
	}
	ps := strings.Fields(p.run("ps", "-a", "-q"))
	sort.Strings(ps)
	sort.Strings(ids)
	if strings.Join(shortIDs(ps), " ") != strings.Join(shortIDs(ids), " ") {
		p.t.Errorf("%s: compose ps lists %v, want %v", stage, shortIDs(ps), shortIDs(ids))
	}
}

// checkFiles asserts that web's config and secret, which compose copied into its
// container, are in the container that runs now.
func (p *composeProject) checkFiles(stage string) {
	p.t.Helper()
	for path, want := range map[string]string{"/etc/greeting": "hello from compose", "/run/secrets/token": "s3cret-" + p.name} {
		r, err := p.dc.CopyFromContainer(context.Background(), p.containerName("web"), client.CopyFromContainerOptions{SourcePath: path})
		if err != nil {
			p.t.Errorf("%s: %s in web: %v", stage, path, err)
			continue
		}
		tr := tar.NewReader(r.Content)
		got := ""
		if _, err := tr.Next(); err == nil {
			b, _ := io.ReadAll(tr)
			got = string(b)
		}
		r.Content.Close()
		if got != want {
			p.t.Errorf("%s: %s in web is %q, want %q", stage, path, got, want)
		}
	}
}

// containers are those compose counts as the project's (its labels, not one-off).
func (p *composeProject) containers() []container.Summary {
	p.t.Helper()
	f := make(client.Filters).Add("label", "com.docker.compose.project="+p.name).Add("label", "com.docker.compose.oneoff=False")
	r, err := p.dc.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		p.t.Fatal(err)
	}
	return r.Items
}

// run runs the compose binary on the project and returns its output.
func (p *composeProject) run(args ...string) string {
	p.t.Helper()
	out, errs, err := p.try(args...)
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s%s", filepath.Base(p.bin), strings.Join(args, " "), err, out, errs)
	}
	return out
}

// down runs compose down. The engine releases a removed container's network endpoint
// a moment after the removal, and Compose v1 removes the network at once: on a busy
// engine its first down can fail with "has active endpoints" (without hoist too), as it
// would for a user, who runs it again. It runs again once the network has no endpoint
// left; any other failure, or a second one, fails the test.
func (p *composeProject) down() {
	p.t.Helper()
	out, errs, err := p.try("down")
	if err == nil {
		return
	}
	if !strings.Contains(errs, "has active endpoints") {
		p.t.Fatalf("%s down: %v\n%s%s", filepath.Base(p.bin), err, out, errs)
	}
	network := p.name + "_default"
	waitFor(p.t, "the engine releases the endpoints of "+network, time.Minute, func() bool {
		r, err := p.dc.NetworkInspect(context.Background(), network, client.NetworkInspectOptions{})
		return err != nil || len(r.Network.Containers) == 0
	})
	p.run("down")
}

// try runs the compose binary on the project: its output, its error output, its error.
func (p *composeProject) try(args ...string) (string, string, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append([]string{"-p", p.name, "-f", p.file}, args...)...)
	cmd.Dir = filepath.Dir(p.file)
	cmd.Env = append(os.Environ(), "HC_TOKEN=s3cret-"+p.name)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	p.t.Logf("%s %s:\n%s%s", filepath.Base(p.bin), strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String(), err
}

// waitHealthy waits until every container of the project runs and passes its health check.
func (p *composeProject) waitHealthy() {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, why := true, ""
		for _, c := range p.containers() {
			r, err := p.dc.ContainerInspect(context.Background(), c.ID, client.ContainerInspectOptions{})
			if err != nil || r.Container.State == nil || !r.Container.State.Running ||
				r.Container.State.Health != nil && r.Container.State.Health.Status != container.Healthy {
				ok, why = false, fmt.Sprintf("%s: %v %+v", namesOf([]container.Summary{c}), err, r.Container.State)
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("project %s not healthy within 90s: %s", p.name, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// records counts each managed service's finished rollouts (names as compose gave them).
func (p *composeProject) records(h *hoistProc) map[string]int {
	p.t.Helper()
	out := map[string]int{}
	for _, svc := range composeServices {
		out[svc] = len(h.rollouts(p.t, "container/"+p.containerName(svc)))
	}
	return out
}

// waitOutcomes waits for one more finished rollout of every managed service, each with
// one of the outcomes.
func (p *composeProject) waitOutcomes(h *hoistProc, before map[string]int, outcomes ...updater.Outcome) {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for _, svc := range composeServices {
		key := "container/" + p.containerName(svc)
		for {
			rs := h.rollouts(p.t, key)
			if len(rs) > before[svc] && rs[0].Outcome != updater.Running {
				if !containsOutcome(outcomes, rs[0].Outcome) {
					p.t.Fatalf("%s: %s (%s), want %v", key, rs[0].Outcome, rs[0].Reason, outcomes)
				}
				p.t.Logf("%s: %s: %s", key, rs[0].Outcome, rs[0].Reason)
				break
			}
			if time.Now().After(deadline) {
				p.t.Fatalf("%s: no new finished rollout within 3m (had %d)", key, before[svc])
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// containerName is the name compose gives the service's first container.
func (p *composeProject) containerName(svc string) string {
	return p.name + p.sep + svc + p.sep + "1"
}

func (p *composeProject) imageID(ref string) string {
	p.t.Helper()
	img, err := p.dc.ImageInspect(context.Background(), ref)
	if err != nil {
		p.t.Fatalf("inspect image %s: %v", ref, err)
	}
	return img.ID
}

// remove takes down whatever the test left: the project and any container with its label.
func (p *composeProject) remove() {
	ctx := context.Background()
	f := make(client.Filters).Add("label", "com.docker.compose.project="+p.name)
	if r, err := p.dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range r.Items {
			p.dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if r, err := p.dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", p.name)}); err == nil {
		for _, c := range r.Items {
			p.dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if r, err := p.dc.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", p.name)}); err == nil {
		for _, n := range r.Items {
			p.dc.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		}
	}
}

func containsOutcome(os []updater.Outcome, o updater.Outcome) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

func namesOf(cs []container.Summary) []string {
	var out []string
	for _, c := range cs {
		if len(c.Names) > 0 {
			out = append(out, strings.TrimPrefix(c.Names[0], "/"))
		}
	}
	return out
}

func keysOf(m map[string][]container.Summary) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id[:min(12, len(id))]
	}
	return out
}

// A container hoist passes over because of its name is never silent: a kept previous
// container that runs (compose started it, or someone by hand) shows in hoist check as
// refused, with what to do.
func TestE2ECheckShowsPassedOver(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	ctx := context.Background()
	name := "e2e-po-" + randHex(3)
	ref := reg.Host + "/" + name + ":live"
	testenv.PushApp(t, ref, testenv.App{Version: "1"})
	pull, err := dc.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pull.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	pull.Close()
	prev := name + "-hoist-prev"
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: prev,
		Config: &container.Config{Image: ref, Labels: map[string]string{"hoist.policy": name}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dc.ContainerRemove(context.Background(), cr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %s\npolicies:\n  - name: %s\n", filepath.Join(dir, "data"), name)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"check", "--config", cfg}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("hoist check: %v\n%s%s", err, out.String(), errb.String())
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "container/"+prev) {
			line = l
		}
	}
	if !strings.Contains(line, "refused") || !strings.Contains(line, "and it runs") || !strings.Contains(line, "docker rm -f "+prev) {
		t.Errorf("hoist check does not say why %s is passed over:\n%s", prev, out.String())
	}
}
