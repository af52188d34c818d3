package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hoistProc is a hoist serve running in the test process.
type hoistProc struct {
	URL    string
	Config string
	Token  string
	logs   *syncBuffer
	stop   func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startHoist runs hoist serve with cfgBody (listen, data_dir and api are added) in a
// fresh directory.
func startHoist(t *testing.T, cfgBody string, env map[string]string) *hoistProc {
	t.Helper()
	h, _ := startHoistAt(t, t.TempDir(), cfgBody, env)
	return h
}

// startHoistAt is startHoist with the data directory under dir, so a second hoist can
// be started on the first one's store. The returned stop reports how long serve took
// to return.
func startHoistAt(t *testing.T, dir, cfgBody string, env map[string]string) (*hoistProc, func() time.Duration) {
	t.Helper()
	return startHoistArgs(t, dir, cfgBody, env)
}

// startHoistArgs is startHoistAt with more flags for serve.
func startHoistArgs(t *testing.T, dir, cfgBody string, env map[string]string, flags ...string) (*hoistProc, func() time.Duration) {
	t.Helper()
	addr := freePort(t)
	token := randHex(16)
	cfg := fmt.Sprintf("listen: %s\ndata_dir: %s\napi: { token: %s }\nlog: { level: debug, format: json }\n%s",
		addr, filepath.Join(dir, "data"), token, cfgBody)
	path := filepath.Join(dir, "hoist-"+randHex(3)+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	args := append([]string{"serve", "--config", path}, flags...)
	go func() { done <- run(ctx, args, getenv, io.Discard, logs) }()
	h := &hoistProc{URL: "http://" + addr, Config: path, Token: token, logs: logs}
	var once sync.Once
	var took time.Duration
	stop := func() time.Duration {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("hoist serve: %v", err)
				}
			case <-time.After(3 * time.Minute):
				t.Errorf("hoist serve did not stop within 3m")
			}
			took = time.Since(start)
		})
		return took
	}
	h.stop = func() { stop() }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("hoist (%s) logs:\n%s", path, logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("hoist serve exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(h.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return h, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *hoistProc) rollouts(t *testing.T, workload string) []updater.Rollout {
	t.Helper()
	var rs []updater.Rollout
	h.getJSON(t, "/api/v1/rollouts?workload="+workload, &rs)
	return rs
}

// waitRollout waits until workload has a finished rollout and returns the newest.
func (h *hoistProc) waitRollout(t *testing.T, workload string, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		rs := h.rollouts(t, workload)
		if len(rs) > 0 && rs[0].Outcome != updater.Running {
			return rs[0]
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no finished rollout for %s within %s", workload, timeout)
	return updater.Rollout{}
}

func post(t *testing.T, url string, headers map[string]string, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// createService runs image as a replicated service with replicas tasks.
func createService(t *testing.T, dc *client.Client, name, image string, replicas uint64, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	res, err := dc.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}})
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	t.Cleanup(func() { dc.ServiceRemove(context.Background(), res.ID, client.ServiceRemoveOptions{}) })
	waitRunning(t, dc, name, image, int(replicas), 90*time.Second)
	return res.ID
}

// serviceImage returns the image in the service's current spec.
func serviceImage(t *testing.T, dc *client.Client, name string) string {
	t.Helper()
	s, err := dc.ServiceInspect(context.Background(), name, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Service.Spec.TaskTemplate.ContainerSpec.Image
}

// runningTasks counts tasks of the service that run image (any image when "").
func runningTasks(t *testing.T, dc *client.Client, name, image string) int {
	t.Helper()
	f := make(client.Filters).Add("service", name).Add("desired-state", "running")
	res, err := dc.TaskList(context.Background(), client.TaskListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range res.Items {
		if task.Status.State == swarm.TaskStateRunning && (image == "" || task.Spec.ContainerSpec.Image == image) {
			n++
		}
	}
	return n
}

func waitRunning(t *testing.T, dc *client.Client, name, image string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if runningTasks(t, dc, name, image) >= want {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("service %s: fewer than %d tasks running %s after %s", name, want, image, timeout)
}

// shared is the engine and the registry every end-to-end test of this binary uses
// (testenv.Shared): a test's workloads and repositories are named for it.
func shared(t *testing.T) (*client.Client, *testenv.Registry) {
	t.Helper()
	e := testenv.Shared(t)
	return e.Docker, e.Registry
}

// swarmApp is a service running v1 of the test program, pushed to the shared registry
// under a repository named for it.
type swarmApp struct {
	dc   *client.Client
	reg  *testenv.Registry
	svc  string // service name: prefix + random suffix
	repo string // registry host + path
	tag  string
	img1 string // the pinned v1 image the service runs
}

// newSwarmApp pushes v1 as <registry>/<path><svc>:<tag> and runs it as a service.
func newSwarmApp(t *testing.T, prefix, path, tag string, replicas uint64) *swarmApp {
	t.Helper()
	return newSwarmAppOf(t, prefix, path, tag, replicas, testenv.App{Version: "1"})
}

// newSwarmAppOf is newSwarmApp with the service's first image built as v1 says.
func newSwarmAppOf(t *testing.T, prefix, path, tag string, replicas uint64, v1 testenv.App) *swarmApp {
	t.Helper()
	env := testenv.Shared(t)
	a := &swarmApp{dc: env.Docker, reg: env.Registry, svc: prefix + randHex(3), tag: tag}
	a.repo = a.reg.Host + "/" + path + a.svc
	a.img1 = a.push(t, v1)
	createService(t, a.dc, a.svc, a.img1, replicas, nil)
	return a
}

// push pushes app under the tag and returns the pinned image (repo:tag@digest).
func (a *swarmApp) push(t *testing.T, app testenv.App) string {
	t.Helper()
	return a.repo + ":" + a.tag + "@" + testenv.PushApp(t, a.repo+":"+a.tag, app).String()
}

// sink is an HTTP endpoint that records the notifications hoist POSTs to it.
type sink struct {
	URL  string
	mu   sync.Mutex
	msgs []string
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.msgs = append(s.msgs, string(b))
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/hook/" + randHex(8)
	return s
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.msgs...)
}

// wait returns the messages once there are at least n, failing after 10 s.
func (s *sink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := s.received(); len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("notifications: got %d, want %d: %q", len(got), n, got)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metrics returns what GET /metrics answers.
func (h *hoistProc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// distributionEvent is a registry notification of a push of repo:tag on host. The
// digest it names does not exist: hoist must resolve the tag itself.
func distributionEvent(host, repo, tag string) string {
	return fmt.Sprintf(`{"events":[{"id":"%s","timestamp":"2026-11-23T10:00:00Z","action":"push",
	  "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":1,
	  "repository":%q,"url":"http://%s/v2/%s/manifests/sha256:0","tag":%q},
	  "request":{"id":"r1","addr":"127.0.0.1:1","host":%q,"method":"PUT","useragent":"docker/20.10"}}]}`,
		randHex(8), 0, repo, host, repo, tag, host)
}

// getJSON GETs an API path with the token and decodes the answer into out; anything but
// 200 fails the test.
func (h *hoistProc) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}
