package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
)

// cycleResult is what a "cycle" child reports: a whole poll cycle of the updater
// (Updater.Check) over services workloads that follow refs references, the workloads
// read from a live index (what a poll cycle reads while the event stream is live) or
// listed anew each cycle (the fallback: every workload built and matched again).
type cycleResult struct {
	Mode     string
	Services int
	Refs     int
	Cycles   int
	WallMS   float64 // per cycle, mean
	CPUMS    float64 // per cycle, mean
	FirstMS  float64 // CPU of the first cycle (every workload matched)
	MaxRSS   int64   // KiB, peak over the process's life
	HeapMiB  float64 // live heap after the last cycle
	Statuses int
	HEADs    float64 // per cycle, as the registry counted them
}

// benchBackend serves a fixed set of services; indexed says whether it also keeps a
// (static) index.
type benchBackend struct {
	ws   []updater.Workload
	revs []uint64
}

func (b *benchBackend) Kind() policy.Kind { return policy.Service }

// List copies the workloads, as a listing from the engine makes new ones every time.
func (b *benchBackend) List(context.Context) ([]updater.Workload, error) {
	out := make([]updater.Workload, len(b.ws))
	for i, w := range b.ws {
		w.Labels = map[string]string{"com.docker.stack.namespace": "bench", "app": w.Name, "tier": "web"}
		out[i] = w
	}
	return out, nil
}

func (b *benchBackend) Update(context.Context, []updater.Workload, updater.Target, updater.Plan, updater.Journal, zerolog.Logger) updater.Result {
	return updater.Result{Outcome: updater.Skipped}
}
func (b *benchBackend) Rollback(context.Context, updater.Workload) error { return nil }
func (b *benchBackend) Finish(context.Context, updater.Workload) error   { return nil }

// indexedBackend is benchBackend with a live index that never changes.
type indexedBackend struct{ *benchBackend }

func (b indexedBackend) Follow(context.Context)                  {}
func (b indexedBackend) Refresh(context.Context, []string) error { return nil }

var _ updater.Index = indexedBackend{}

func (b indexedBackend) Streaming() bool { return true }

func (b indexedBackend) Current() (updater.Snapshot, bool) {
	return updater.Snapshot{Workloads: b.ws, Revs: b.revs, Gen: 1}, true
}

// benchWorkloads are n services, two per reference of refs (refs[i/2]), pinned to d.
func benchWorkloads(host string, n, refs int, digest string) *benchBackend {
	b := &benchBackend{ws: make([]updater.Workload, n), revs: make([]uint64, n)}
	for i := range n {
		svc := fmt.Sprintf("bench-svc-%05d", i)
		b.ws[i] = updater.Workload{
			Kind: policy.Service, ID: fmt.Sprintf("%025d", i), Name: svc,
			Image:  fmt.Sprintf("%s/bench/r%04d:latest@%s", host, (i/2)%refs, digest),
			Labels: map[string]string{"com.docker.stack.namespace": "bench", "app": svc, "tier": "web"},
		}
		b.revs[i] = uint64(i + 1)
	}
	return b
}

// runCycle is the "cycle-index" and "cycle-list" children: a first cycle, then cycles
// more, each timed on its own CPU time (getrusage).
func runCycle(mode, host string, services, conc, cycles int, out io.Writer) error {
	ctx := context.Background()
	ref, err := name.ParseReference(fmt.Sprintf("%s/bench/r%04d:latest", host, 0))
	if err != nil {
		return err
	}
	desc, err := remote.Head(ref)
	if err != nil {
		return err
	}
	refs := max(services/2, 1)
	bb := benchWorkloads(host, services, refs, desc.Digest.String())
	var b updater.Backend = bb
	if mode == "cycle-index" {
		b = indexedBackend{bb}
	}
	dir, err := os.MkdirTemp("", "pollbench-store")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open[updater.Plan](dir, false)
	if err != nil {
		return err
	}
	defer st.Close()
	rule, err := policy.NewRule("bench", []string{"bench-svc-*"}, nil, nil, policy.Digest, "")
	if err != nil {
		return err
	}
	u := updater.New(updater.Options{Backends: []updater.Backend{b}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"bench": {}}, Resolver: registry.New(registry.Options{}), Store: st,
		Log: zerolog.Nop(), Concurrency: conc})
	r := cycleResult{Mode: mode, Services: services, Refs: refs, Cycles: cycles}
	one := func() (time.Duration, time.Duration, error) {
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		start := time.Now()
		sts, err := u.Check(ctx, false, "poll")
		wall := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		r.Statuses = len(sts)
		return wall, tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime), err
	}
	_, first, err := one()
	if err != nil {
		return err
	}
	r.FirstMS = ms(first)
	if path := os.Getenv("POLLBENCH_ALLOCS"); path != "" { // <path>.<client>: every allocation of the cycles
		runtime.MemProfileRate = 1
		defer writeAllocs(path + "." + mode)
	}
	if path := os.Getenv("POLLBENCH_CPU"); path != "" && mode == "cycle-index" { // a CPU profile of the cycles
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var wall, cpu time.Duration
	for range cycles {
		w, c, err := one()
		if err != nil {
			return err
		}
		wall, cpu = wall+w, cpu+c
	}
	r.WallMS, r.CPUMS = ms(wall)/float64(cycles), ms(cpu)/float64(cycles)
	r.MaxRSS = peakRSS()
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	if path := os.Getenv("POLLBENCH_HEAP"); path != "" { // a heap profile, for go tool pprof
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	r.HeapMiB = float64(m.HeapAlloc) / (1 << 20)
	runtime.KeepAlive(u)
	return json.NewEncoder(out).Encode(r)
}

// runCheapCycles is the "cycle-cheap" child: the cheapest go-containerregistry loop
// over the same unique references as a poll cycle, measured as runCycle measures the
// updater (a first cycle with the ping, then cycles more over the same transport,
// Puller and connections, each on its own CPU time).
func runCheapCycles(host string, services, conc, cycles int, out io.Writer) error {
	ctx := context.Background()
	refs := make([]name.Reference, max(services/2, 1))
	for i := range refs {
		r, err := name.ParseReference(fmt.Sprintf("%s/bench/r%04d:latest", host, i))
		if err != nil {
			return err
		}
		refs[i] = r
	}
	head, err := cheapest(ctx, refs[0])
	if err != nil {
		return err
	}
	r := cycleResult{Mode: "cycle-cheap", Services: services, Refs: len(refs), Cycles: cycles}
	one := func() (time.Duration, time.Duration, error) {
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		start := time.Now()
		n := loop(refs, conc, head)
		wall := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		if n > 0 {
			return 0, 0, fmt.Errorf("%d digest checks failed", n)
		}
		return wall, tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime), nil
	}
	_, first, err := one()
	if err != nil {
		return err
	}
	r.FirstMS = ms(first)
	if path := os.Getenv("POLLBENCH_ALLOCS"); path != "" {
		runtime.MemProfileRate = 1
		defer writeAllocs(path + ".cycle-cheap")
	}
	if path := os.Getenv("POLLBENCH_CPU"); path != "" { // the loop's cycles next to the updater's
		if f, err := os.Create(path + ".cycle-cheap"); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var wall, cpu time.Duration
	for range cycles {
		w, c, err := one()
		if err != nil {
			return err
		}
		wall, cpu = wall+w, cpu+c
	}
	r.WallMS, r.CPUMS = ms(wall)/float64(cycles), ms(cpu)/float64(cycles)
	r.MaxRSS = peakRSS()
	return json.NewEncoder(out).Encode(r)
}

// driveCycles runs, for each number of services, reps rounds of: a child whose updater
// reads a live index and a child running the cheapest loop over the same unique
// references the same way (alternating which goes first); then one child that lists
// anew each cycle. It prints the medians side by side.
func driveCycles(sizes []int, conc, cycles, reps int, host string, cnt *counter, out io.Writer) error {
	for _, s := range sizes {
		refs := max(s/2, 1)
		fmt.Fprintf(out, "\nS=%d services over %d references, %d cycles after a first one, %d runs (median)\n%-12s %9s %9s %11s %8s %7s %10s\n",
			s, refs, cycles, reps, "client", "wall", "cpu", "first cpu", "maxrss", "heap", "HEAD/cycle")
		runs := map[string][]cycleResult{}
		var wr, cr []float64 // per-run ratios
		for i := range reps {
			order := []string{"cycle-index", "cycle-cheap"}
			if i%2 == 1 {
				order = []string{"cycle-cheap", "cycle-index"}
			}
			for _, m := range order {
				r, err := runCycleChild(m, host, s, conc, cycles)
				if err != nil {
					return err
				}
				r.HEADs = float64(cnt.take().Head) / float64(cycles+1)
				runs[m] = append(runs[m], r)
			}
			idx, ch := runs["cycle-index"][i], runs["cycle-cheap"][i]
			wr, cr = append(wr, idx.WallMS/ch.WallMS), append(cr, idx.CPUMS/ch.CPUMS)
		}
		r, err := runCycleChild("cycle-list", host, s, conc, cycles)
		if err != nil {
			return err
		}
		r.HEADs = float64(cnt.take().Head) / float64(cycles+1)
		runs["cycle-list"] = []cycleResult{r}
		med := map[string]cycleResult{}
		for _, m := range []string{"cycle-list", "cycle-index", "cycle-cheap"} {
			r := medianCycle(runs[m])
			med[m] = r
			fmt.Fprintf(out, "%-12s %7.0fms %7.0fms %9.0fms %6dMiB %5.1fMiB %10.0f\n", m, r.WallMS, r.CPUMS, r.FirstMS,
				r.MaxRSS/1024, r.HeapMiB, r.HEADs)
		}
		idx, ch := med["cycle-index"], med["cycle-cheap"]
		fmt.Fprintf(out, "poll cycle (index) / cheapest ggcr loop over the same %d references, medians: wall %.2f, cpu %.2f; per run: wall %s, cpu %s\n",
			refs, idx.WallMS/ch.WallMS, idx.CPUMS/ch.CPUMS, spread(wr), spread(cr))
	}
	return nil
}

// medianCycle is the median of each figure on its own.
func medianCycle(rs []cycleResult) cycleResult {
	m := rs[len(rs)/2]
	pick := func(f func(cycleResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.WallMS = pick(func(r cycleResult) float64 { return r.WallMS })
	m.CPUMS = pick(func(r cycleResult) float64 { return r.CPUMS })
	m.FirstMS = pick(func(r cycleResult) float64 { return r.FirstMS })
	m.HeapMiB = pick(func(r cycleResult) float64 { return r.HeapMiB })
	m.MaxRSS = int64(pick(func(r cycleResult) float64 { return float64(r.MaxRSS) }))
	return m
}

// spread prints the lowest and highest of per-run ratios.
func spread(v []float64) string {
	return fmt.Sprintf("%.2f–%.2f", slices.Min(v), slices.Max(v))
}

func runCycleChild(mode, host string, services, conc, cycles int) (cycleResult, error) {
	self, err := os.Executable()
	if err != nil {
		return cycleResult{}, err
	}
	cmd := exec.Command(self, "-child", mode, "-host", host, "-count", strconv.Itoa(services), "-c", strconv.Itoa(conc), "-cycles", strconv.Itoa(cycles))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return cycleResult{}, fmt.Errorf("%s client: %w", mode, err)
	}
	var r cycleResult
	if err := json.Unmarshal(b, &r); err != nil {
		return cycleResult{}, fmt.Errorf("%s client output %q: %w", mode, b, err)
	}
	return r, nil
}

// peakRSS is the process's peak resident set size in KiB since it started its program
// (VmHWM): getrusage's maxrss also counts what the parent held when it forked the child.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
					return n
				}
			}
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}
