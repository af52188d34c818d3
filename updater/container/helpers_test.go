package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// env is one test's engine, registry, images and the names it owns.
type env struct {
	t      *testing.T
	ctx    context.Context
	c      *client.Client
	b      *Backend
	reg    *testenv.Registry
	prefix string
	log    zerolog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := testenv.Docker(t)
	// Each test owns the names under its prefix: they run side by side.
	t.Parallel()
	id := make([]byte, 3)
	rand.Read(id)
	e := &env{
		t: t, ctx: t.Context(), c: c,
		reg:    testenv.NewRegistry(t),
		prefix: "hoist-ct-" + strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-")) + "-" + hex.EncodeToString(id),
		log:    zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger(),
	}
	e.b = e.backend(c)
	t.Cleanup(e.cleanup)
	return e
}

// backend is the test's backend on client c.
func (e *env) backend(c *client.Client) *Backend {
	// Scope: other packages' tests use the same engine at the same time.
	return New(c, WithLogger(e.log), WithGracePeriod(30*time.Second), WithRecoverWait(15*time.Second),
		WithScope(func(name string, _ map[string]string) bool { return strings.HasPrefix(name, e.prefix) }))
}

// cleanup removes every container, network and volume named after the test.
func (e *env) cleanup() {
	ctx := context.Background()
	r, err := e.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", e.prefix)})
	if err == nil {
		for _, s := range r.Items {
			e.c.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if r, err := e.c.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", e.prefix)}); err == nil {
		for _, n := range r.Items {
			e.c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		}
	}
	if r, err := e.c.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("name", e.prefix)}); err == nil {
		for _, v := range r.Items {
			e.c.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// push pushes the test app as app:<tag> and returns the target for it.
func (e *env) push(tag string, a testenv.App) updater.Target {
	e.t.Helper()
	ref := e.reg.Host + "/app:" + tag
	d := testenv.PushApp(e.t, ref, a)
	tg, err := name.NewTag(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return updater.Target{Tag: tg, Digest: d}
}

// run pulls image and starts a container from it, waiting until it is healthy.
func (e *env) run(suffix, image string, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) container.InspectResponse {
	e.t.Helper()
	if err := e.b.pull(e.ctx, image, ""); err != nil {
		e.t.Fatal(err)
	}
	if cfg == nil {
		cfg = &container.Config{}
	}
	cfg.Image = image
	r, err := e.c.ContainerCreate(e.ctx, client.ContainerCreateOptions{Name: e.prefix + suffix, Config: cfg, HostConfig: host, NetworkingConfig: net})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.c.ContainerStart(e.ctx, r.ID, client.ContainerStartOptions{}); err != nil {
		e.t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if _, err := e.b.waitHealthy(wctx, r.ID, nil); err != nil {
		e.t.Fatal(err)
	}
	return e.inspect(r.ID)
}

func (e *env) inspect(id string) container.InspectResponse {
	e.t.Helper()
	c, err := e.b.inspect(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// workload is how the updater would hand a container to the backend.
func workload(c container.InspectResponse) updater.Workload {
	return updater.Workload{Kind: policy.Container, ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: c.Config.Image, Labels: c.Config.Labels}
}

func plan() updater.Plan {
	return updater.Plan{Parallelism: 1, StartFirst: true, Watch: 3 * time.Second, Timeout: 90 * time.Second, KeepPrevious: time.Hour}
}

// freePort finds a free TCP port on 127.0.0.1.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func loopbackPort(port string) network.PortMap {
	return network.PortMap{network.MustParsePort("8080/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port}}}
}

// hostPort is the loopback port a container's 8080 is published on.
func hostPort(t *testing.T, c container.InspectResponse) string {
	t.Helper()
	for _, b := range c.NetworkSettings.Ports[network.MustParsePort("8080/tcp")] {
		return b.HostPort
	}
	t.Fatalf("%s publishes no port", c.Name)
	return ""
}

// httpDo calls the test app through its published port.
func httpDo(t *testing.T, method, port, path string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, "http://127.0.0.1:"+port+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// httpAnswer is httpDo once the port answers: a container just started again may take a
// moment before its program listens (the engine's proxy resets the connection until
// then). It tries for up to 15 s.
func httpAnswer(t *testing.T, method, port, path string) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(t.Context(), method, "http://127.0.0.1:"+port+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			break
		}
	}
	return httpDo(t, method, port, path)
}

// writeFile puts a file into a container (running or not) through the engine.
func (e *env) writeFile(id, dir, file, data string) {
	e.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write([]byte(data))
	tw.Close()
	if _, err := e.c.CopyToContainer(e.ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf}); err != nil {
		e.t.Fatal(err)
	}
}

// readFile reads a file out of a container (running or not) through the engine.
func (e *env) readFile(id, path string) string {
	e.t.Helper()
	r, err := e.c.CopyFromContainer(e.ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		e.t.Fatalf("read %s from %.12s: %v", path, id, err)
	}
	defer r.Content.Close()
	tr := tar.NewReader(r.Content)
	if _, err := tr.Next(); err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	return string(b)
}

// names lists the test's containers as name → id.
func (e *env) names() map[string]string {
	e.t.Helper()
	r, err := e.c.ContainerList(e.ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", e.prefix)})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, s := range r.Items {
		m[strings.TrimPrefix(s.Names[0], "/")] = s.ID
	}
	return m
}

func must(t *testing.T, r updater.Result, want updater.Outcome) {
	t.Helper()
	t.Logf("outcome %s: %s (order: %s)", r.Outcome, r.Reason, r.Order)
	if r.Outcome != want {
		t.Fatalf("outcome %s, want %s\nlogs:\n%s", r.Outcome, want, r.Logs)
	}
}
