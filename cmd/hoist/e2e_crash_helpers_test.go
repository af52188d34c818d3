package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
	swarmbackend "github.com/hoist-dev/hoist/updater/swarm"
)

// The crash tests run hoist as a separate process, so that it can be killed with
// SIGKILL in the middle of a rollout, and start another one on the same data_dir.

var (
	hoistBinOnce sync.Once
	hoistBinPath string
	hoistBinErr  error
)

// hoistBinary builds cmd/hoist once per test process and returns the binary's path.
// The binary lives in one directory per checkout under the temp dir, replaced by each
// build with a rename (a concurrent test process keeps running its own copy). It is
// static, so it is also the one layer of the images of hoist the self-update and
// cluster tests run (linuxHoist, staticHoist): one build serves them all.
func hoistBinary(t *testing.T) string {
	t.Helper()
	hoistBinOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			hoistBinErr = err
			return
		}
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("hoist-e2e-%x", sum[:6]))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			hoistBinErr = err
			return
		}
		tmp := filepath.Join(dir, "hoist-"+randHex(4))
		cmd := exec.Command("go", "build", "-trimpath", "-o", tmp, "./cmd/hoist")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			hoistBinErr = fmt.Errorf("go build ./cmd/hoist: %v\n%s", err, b)
			return
		}
		hoistBinPath = filepath.Join(dir, "hoist")
		if err := os.Rename(tmp, hoistBinPath); err != nil {
			os.Remove(tmp)
			hoistBinErr = err
		}
	})
	if hoistBinErr != nil {
		t.Fatal(hoistBinErr)
	}
	return hoistBinPath
}

// moduleRoot is the nearest directory above the working directory with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// hoistProcess is a `hoist serve` running as a child process.
type hoistProcess struct {
	URL     string
	Token   string
	Config  string
	Log     string // its stdout and stderr
	DataDir string

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // what Wait returned
}

// startHoistProcess runs `hoist serve` with cfgBody (listen, data_dir, api and log are
// added) and data_dir <dir>/data, with the test's environment, and waits for /healthz.
// Several processes may be started on one dir one after the other: each gets its own
// config and log file.
func startHoistProcess(t *testing.T, dir, cfgBody string) *hoistProcess {
	t.Helper()
	bin := hoistBinary(t)
	id := randHex(3)
	addr := freePort(t)
	h := &hoistProcess{
		URL: "http://" + addr, Token: randHex(16),
		Config:  filepath.Join(dir, "hoist-"+id+".yaml"),
		Log:     filepath.Join(dir, "hoist-"+id+".log"),
		DataDir: filepath.Join(dir, "data"),
		done:    make(chan struct{}),
	}
	cfg := fmt.Sprintf("listen: %s\ndata_dir: %s\napi: { token: %s }\nlog: { level: debug, format: json }\n%s",
		addr, h.DataDir, h.Token, cfgBody)
	if err := os.WriteFile(h.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(h.Log)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(bin, "serve", "--config", h.Config)
	h.cmd.Env = os.Environ()
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start hoist: %v", err)
	}
	go func() {
		h.err = h.cmd.Wait()
		logf.Close()
		close(h.done)
	}()
	t.Cleanup(func() {
		h.kill9()
		if t.Failed() {
			t.Logf("hoist pid %d (%s) log:\n%s", h.cmd.Process.Pid, h.Config, h.logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-h.done:
			t.Fatalf("hoist exited before it served: %v\n%s", h.err, h.logs())
		default:
		}
		if resp, err := hoistClient.Get(h.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist did not answer /healthz within 30s\n%s", h.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 sends SIGKILL and waits until the process is gone; it returns when the signal
// was sent (the zero time when the process had already exited).
func (h *hoistProcess) kill9() time.Time {
	select {
	case <-h.done:
		return time.Time{}
	default:
	}
	at := time.Now()
	// The only error left is a process that exited meanwhile: done closes either way.
	h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
	return at
}

func (h *hoistProcess) logs() string {
	b, err := os.ReadFile(h.Log)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// api is the in-process helpers' view of this process, for getJSON and rollouts.
func (h *hoistProcess) api() *hoistProc {
	return &hoistProc{URL: h.URL, Config: h.Config, Token: h.Token}
}

func (h *hoistProcess) rollouts(t *testing.T, workload string) []updater.Rollout {
	t.Helper()
	return h.api().rollouts(t, workload)
}

// rolloutsTo returns workload's records whose target is image, newest first.
func (h *hoistProcess) rolloutsTo(t *testing.T, workload, image string) []updater.Rollout {
	t.Helper()
	var out []updater.Rollout
	for _, r := range h.rollouts(t, workload) {
		if r.To == image {
			out = append(out, r)
		}
	}
	return out
}

// waitPhase polls (every 50 ms) until workload's record to image is in phase p, and
// returns it. A record that ends first fails the test.
func (h *hoistProcess) waitPhase(t *testing.T, workload, image string, p updater.Phase, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last updater.Rollout
	for time.Now().Before(deadline) {
		if rs := h.rolloutsTo(t, workload, image); len(rs) > 0 {
			last = rs[0]
			if last.Phase == p && last.Outcome == updater.Running {
				return last
			}
			if last.Outcome != updater.Running {
				t.Fatalf("the rollout to %s ended (%s: %s) before it was seen in phase %s", image, last.Outcome, last.Reason, p)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no record of %s to %s in phase %s within %s; last seen: %+v", workload, image, p, timeout, last)
	return updater.Rollout{}
}

// waitEnded waits until workload's first record to image has an outcome, and returns
// it. (A later record to the same image would be a second attempt: the callers count
// them.)
func (h *hoistProcess) waitEnded(t *testing.T, workload, image string, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []updater.Rollout
	for time.Now().Before(deadline) {
		last = h.rolloutsTo(t, workload, image)
		if n := len(last); n > 0 && last[n-1].Outcome != updater.Running {
			return last[n-1]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no ended record of %s to %s within %s; records: %+v", workload, image, timeout, last)
	return updater.Rollout{}
}

// workloadItem is one entry of GET /api/v1/workloads.
type workloadItem struct {
	updater.Status
	Quarantined []updater.Quarantine `json:"quarantined,omitempty"`
}

// workload returns what GET /api/v1/workloads says of key.
func (h *hoistProcess) workload(t *testing.T, key string) (workloadItem, bool) {
	t.Helper()
	var items []workloadItem
	h.api().getJSON(t, "/api/v1/workloads", &items)
	for _, it := range items {
		if it.Workload.Key() == key {
			return it, true
		}
	}
	return workloadItem{}, false
}

// hoistClient bounds health checks: a wedged hoist must fail the test, not hang it.
var hoistClient = &http.Client{Timeout: 5 * time.Second}

// eventLog records the engine events that match a filter, from its start to the end of
// the test.
type eventLog struct {
	mu   sync.Mutex
	msgs []events.Message
	err  error
}

func recordEvents(t *testing.T, dc *client.Client, f client.Filters) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := dc.Events(ctx, client.EventsListOptions{Filters: f})
	l := &eventLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-res.Messages:
				l.mu.Lock()
				l.msgs = append(l.msgs, m)
				l.mu.Unlock()
			case err := <-res.Err:
				if ctx.Err() == nil {
					l.mu.Lock()
					l.err = err
					l.mu.Unlock()
				}
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// matching returns the events recorded so far for which keep is true; an event stream
// that broke fails the test (its count would be too low to prove anything).
func (l *eventLog) matching(t *testing.T, keep func(events.Message) bool) []events.Message {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		t.Fatalf("engine event stream broke: %v", l.err)
	}
	var out []events.Message
	for _, m := range l.msgs {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// serviceUpdatesTo counts the service updates whose spec moved to image: each is one
// request that deployed it (by hoist, or by anyone).
func (l *eventLog) serviceUpdatesTo(t *testing.T, image string) int {
	t.Helper()
	return len(l.matching(t, func(m events.Message) bool {
		return m.Type == events.ServiceEventType && m.Action == events.ActionUpdate && m.Actor.Attributes["image.new"] == image
	}))
}

// describe lists the recorded events, one a line, for logs.
func (l *eventLog) describe() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, m := range l.msgs {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			if k != "name" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "  %s %s %s", time.Unix(0, m.TimeNano).Format("15:04:05.000"), m.Type, m.Action)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, m.Actor.Attributes[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// taskHistory is every task Swarm still keeps for a service.
func taskHistory(t *testing.T, dc *client.Client, svc string) []swarm.Task {
	t.Helper()
	res, err := dc.TaskList(context.Background(), client.TaskListOptions{Filters: make(client.Filters).Add("service", svc)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Items
}

// attemptsOf counts the updates that deployed image, from the service's task history:
// every update hoist makes writes its marker (image and time, hoist.rollout) into the
// task template with the image, so the tasks of one update, restarts included, share
// one marker and a second update brings another. Tasks on image without a marker
// (an update not made by hoist) count as one more.
func attemptsOf(tasks []swarm.Task, image string) (attempts, onImage int) {
	markers := map[string]bool{}
	for _, task := range tasks {
		if task.Spec.ContainerSpec == nil || task.Spec.ContainerSpec.Image != image {
			continue
		}
		onImage++
		markers[task.Spec.ContainerSpec.Labels[swarmbackend.LabelRollout]] = true
	}
	return len(markers), onImage
}

// describeTasks lists tasks by slot, for logs.
func describeTasks(tasks []swarm.Task, names map[string]string) string {
	slices.SortFunc(tasks, func(a, b swarm.Task) int {
		if a.Slot != b.Slot {
			return a.Slot - b.Slot
		}
		return a.Meta.CreatedAt.Compare(b.Meta.CreatedAt)
	})
	var b strings.Builder
	for _, task := range tasks {
		img := task.Spec.ContainerSpec.Image
		if n, ok := names[img]; ok {
			img = n
		}
		_, at, _ := strings.Cut(task.Spec.ContainerSpec.Labels[swarmbackend.LabelRollout], " ")
		fmt.Fprintf(&b, "  slot %d %s %-8s desired %-8s %-4s marker %-30s %s\n", task.Slot, task.Meta.CreatedAt.Format("15:04:05.000"),
			task.Status.State, task.DesiredState, img, at, task.Status.Err)
	}
	return b.String()
}

// waitFor polls cond every 100 ms and returns when it first held, or fails the test.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
