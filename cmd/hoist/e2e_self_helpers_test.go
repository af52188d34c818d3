package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
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
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
)

// Helpers of the e2e tests of hoist updating its own container.

// linuxHoist is the static hoist binary for the engine's images, built once per test
// process (hoistBinary).
func linuxHoist(t *testing.T) string {
	t.Helper()
	return hoistBinary(t)
}

// selfConfig writes hoist's config for a container on the host network: its API on a
// free loopback port, its store in /data, a policy named policy (for itself) polling
// every second, watching for watch. It returns the file and the hoist it describes.
func selfConfig(t *testing.T, dir, policy string, watch time.Duration) (string, *hoistProc) {
	t.Helper()
	addr := freePort(t)
	token := randHex(16)
	cfg := fmt.Sprintf(`listen: %s
data_dir: /data
api: { token: %s }
log: { level: debug, format: json }
poll: { interval: 1s }
policies:
  - name: %s
    rollout: { keep_previous: 1h }
    health: { watch: %s, timeout: 2m }
`, addr, token, policy, watch)
	path := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, &hoistProc{URL: "http://" + addr, Token: token}
}

// engineSocket is the path of the test engine's socket on this machine.
func engineSocket() string {
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		return strings.TrimPrefix(h, "unix://")
	}
	return "/var/run/docker.sock"
}

// startSelfHoist runs hoist as the container cname from ref: host network, the
// engine's socket mounted, its store on a volume, a policy for itself (its
// hoist.policy label) polling its tag every second.
func startSelfHoist(t *testing.T, dc *client.Client, cname, ref string, watch time.Duration) *hoistProc {
	t.Helper()
	ctx := context.Background()
	path, h := selfConfig(t, t.TempDir(), cname, watch)
	pull, err := dc.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	t.Cleanup(func() { removeSelf(dc, cname, strings.Split(ref, ":live")[0]) })
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   cname,
		Config: &container.Config{Image: ref, Labels: map[string]string{"hoist.policy": cname}},
		HostConfig: &container.HostConfig{
			NetworkMode:   "host",
			Binds:         []string{engineSocket() + ":/var/run/docker.sock", path + ":/etc/hoist/hoist.yaml:ro"},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: cname + "-data", Target: "/data"}},
			RestartPolicy: container.RestartPolicy{Name: "unless-stopped"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSelfUp(t, dc, h, cname)
	return h
}

// waitSelfUp waits for the hoist in container cname to answer, and has its containers'
// logs shown if the test fails.
func waitSelfUp(t *testing.T, dc *client.Client, h *hoistProc, cname string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{cname, cname + "-hoist-switch", cname + "-hoist-failed", cname + "-hoist-old", cname + "-hoist-prev"} {
				t.Logf("== %s ==\n%s", n, containerLogs(dc, n))
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(h.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist in its container did not come up\n%s", containerLogs(dc, cname))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitSelfRollout waits for the ended rollout of key to digest. The API is away while
// hoist switches containers: errors only mean "not yet".
func waitSelfRollout(t *testing.T, h *hoistProc, key, digest string, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range selfRollouts(h, key) {
			if strings.HasSuffix(r.To, "@"+digest) && r.Outcome != updater.Running {
				return r
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no ended rollout of %s to %s within %s; records: %+v", key, digest, timeout, selfRollouts(h, key))
	return updater.Rollout{}
}

func selfRollouts(h *hoistProc, key string) []updater.Rollout {
	var rs []updater.Rollout
	getQuiet(h, "/api/v1/rollouts?workload="+key, &rs)
	return rs
}

func quarantined(t *testing.T, h *hoistProc, key, digest string) bool {
	t.Helper()
	var ws []struct {
		Workload    updater.Workload     `json:"workload"`
		Quarantined []updater.Quarantine `json:"quarantined"`
	}
	if err := getQuiet(h, "/api/v1/workloads", &ws); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		for _, q := range w.Quarantined {
			if w.Workload.Key() == key && q.Digest == digest {
				return true
			}
		}
	}
	return false
}

// getQuiet GETs an API path with the token into out, reporting failures as errors.
func getQuiet(h *hoistProc, path string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func pushImage(t *testing.T, ref string, img v1.Image) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// withFile is img with one more layer holding the file /path.
func withFile(t *testing.T, img v1.Image, path, body string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	tw.Write([]byte(body))
	tw.Close()
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func inspectContainer(t *testing.T, dc *client.Client, ref string) container.InspectResponse {
	t.Helper()
	r, err := dc.ContainerInspect(context.Background(), ref, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return r.Container
}

func inspectID(t *testing.T, dc *client.Client, ref string) string {
	t.Helper()
	return inspectContainer(t, dc, ref).ID
}

// assertGone fails when a container of one of these names exists.
func assertGone(t *testing.T, dc *client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		if r, err := dc.ContainerInspect(context.Background(), n, client.ContainerInspectOptions{}); err == nil && r.Container.Name == "/"+n {
			t.Errorf("container %s is left (%s)", n, r.Container.State.Status)
		}
	}
}

func containerLogs(dc *client.Client, ref string) string {
	rc, err := dc.ContainerLogs(context.Background(), ref, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "60"})
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(bytes.ToValidUTF8(b, nil))
}

// removeSelf removes every container named after cname (the hoist and what its
// switches left), its data volume and the images of repo.
func removeSelf(dc *client.Client, cname, repo string) {
	ctx := context.Background()
	cl, _ := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", cname)})
	for _, c := range cl.Items {
		dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
	dc.VolumeRemove(ctx, cname+"-data", client.VolumeRemoveOptions{Force: true})
	if repo != "" {
		imgs, _ := dc.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repo)})
		for _, i := range imgs.Items {
			dc.ImageRemove(ctx, i.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
}
