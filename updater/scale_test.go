//go:build speed

package updater_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// TestSpeedServeAtScale runs hoist serve, a process of its own, against the engine with
// HOIST_SPEED_SERVICES (10,000) real services, idle (no replica), over half as many
// image references, all governed by one policy and polled every 10 s: its peak and
// current RSS, the CPU it used from one poll cycle's end to the next, and the registry's
// HEADs per cycle.
func TestSpeedServeAtScale(t *testing.T) {
	c := testenv.Docker(t)
	reg := testenv.NewRegistry(t)
	n := envInt("HOIST_SPEED_SERVICES", 10000)
	refs := max(n/2, 1)
	run := randomHex()
	img := testenv.Image(t, testenv.App{Version: "scale", NoHealthcheck: true})
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo := func(i int) string { return fmt.Sprintf("%s/scale-%s-%05d", reg.Host, run, i%refs) }
	began := time.Now()
	err = parallel(refs, func(i int) error {
		tag, err := name.NewTag(repo(i) + ":stable")
		if err != nil {
			return err
		}
		return remote.Write(tag, img)
	})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	// Service i runs reference i mod refs, opted into the policy "scale".
	createServices(t, c, n, func(i int) swarm.ServiceSpec {
		return swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: fmt.Sprintf("hoist-scale-%s-%05d", run, i), Labels: map[string]string{"hoist.speed": run, "hoist.policy": "scale"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: repo(i) + ":stable@" + d.String()}},
		}
	})
	fmt.Printf("SPEED setup: %d references pushed, %d services created in %s\n", refs, n, time.Since(began).Round(time.Second))

	h := startServe(t, run)
	var last *cycleSample
	for i := 0; i < 5; i++ {
		s := h.nextCycle(t, reg)
		if last != nil && i >= 2 { // the first cycles read the engine and ping the registry
			fmt.Printf("SPEED serve at scale: %d services, %d references: cycle took %s, CPU %s from one cycle's end to the next (%s), %d HEADs; RSS %d MiB (peak %d MiB; %d MiB not from a file)\n",
				s.workloads, refs, s.took, s.cpu-last.cpu, s.at.Sub(last.at).Round(time.Millisecond), s.heads-last.heads, s.rss>>20, s.hwm>>20, s.anon>>20)
		}
		last = &s
	}
	fmt.Printf("SPEED serve at scale: Go's memory: %s\n", h.memstats(t))

}

// memstats are the Go runtime's memory figures from the process's /metrics.
func (h *serveProc) memstats(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + h.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, m := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_next_gc_bytes", "go_memstats_sys_bytes"} {
			if v, ok := strings.CutPrefix(sc.Text(), m+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				out = append(out, fmt.Sprintf("%s %.1f MiB", strings.TrimSuffix(strings.TrimPrefix(m, "go_memstats_"), "_bytes"), f/(1<<20)))
			}
		}
	}
	return strings.Join(out, ", ")
}

// serveProc is a hoist serve process and the poll cycles its log reports.
type serveProc struct {
	addr   string // host:port of its API
	pid    int
	cycles chan cycleLine
	mu     sync.Mutex
	log    []string // the last lines of its log
}

type cycleLine struct {
	at        time.Time
	workloads int
	took      time.Duration
}

// cycleSample is what was measured when a poll cycle's end was logged.
type cycleSample struct {
	cycleLine
	cpu      time.Duration // the process's user + system CPU so far
	rss, hwm int64         // bytes
	anon     int64         // bytes of the RSS not backed by a file (the rest: hoist's binary)
	heads    int64         // the registry's HEADs so far
}

// startServe builds hoist and runs hoist serve with the policy "scale", polling every
// 10 s, its debug log read for the poll cycles.
func startServe(t *testing.T, run string) *serveProc {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hoist")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/hoist").CombinedOutput(); err != nil {
		t.Fatalf("build hoist: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "hoist.yaml")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	yaml := fmt.Sprintf(`listen: %s
data_dir: %s
api: { token: %s }
log: { level: debug, format: json }
poll: { interval: 10s }
policies:
  - name: scale
`, addr, dir, randomHex()+randomHex())
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	h := &serveProc{addr: addr, pid: cmd.Process.Pid, cycles: make(chan cycleLine, 16)}
	go func() {
		defer close(h.cycles) // it exited
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			h.mu.Lock()
			h.log = append(h.log[max(len(h.log)-20, 0):], sc.Text())
			h.mu.Unlock()
			var l struct {
				Message   string  `json:"message"`
				Workloads int     `json:"workloads"`
				Took      float64 `json:"took"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "poll cycle" {
				h.cycles <- cycleLine{at: time.Now(), workloads: l.Workloads, took: time.Duration(l.Took * float64(time.Second))}
			}
		}
	}()
	return h
}

// nextCycle waits for the next poll cycle's end and measures the process then.
func (h *serveProc) nextCycle(t *testing.T, reg *testenv.Registry) cycleSample {
	t.Helper()
	var l cycleLine
	ok := false
	select {
	case l, ok = <-h.cycles:
	case <-time.After(3 * time.Minute):
	}
	if !ok {
		h.mu.Lock()
		defer h.mu.Unlock()
		t.Fatalf("no poll cycle within 3m; hoist's last log lines:\n%s", strings.Join(h.log, "\n"))
	}
	s := cycleSample{cycleLine: l}
	s.heads, _, _, _ = reg.Counts()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, stime: fields 14 and 15
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.rss = kb << 10
		case "VmHWM":
			s.hwm = kb << 10
		case "RssAnon":
			s.anon = kb << 10
		}
	}
	return s
}
