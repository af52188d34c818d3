// Command pollbench measures one poll cycle of registry.Client.ResolveMany against an
// in-process registry, next to the cheapest loop go-containerregistry can run over the
// same references (ping once, one Puller over that transport, Puller.Head per
// reference) and the naive one (remote.Head alone). With -services it also measures
// whole poll cycles of the updater next to that cheapest loop run the same way. Each client runs in its own child process, so its CPU time and
// peak RSS (getrusage) are its own; the registry counts the requests it receives.
//
// Run it through scripts/bench-poll.sh.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/hoist-dev/hoist/registry"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pollbench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pollbench", flag.ContinueOnError)
	sizes := fs.String("n", "100,2000", "numbers of repositories, comma-separated")
	conc := fs.Int("c", 8, "concurrency of every client")
	reps := fs.Int("reps", 7, "runs of the hoist and cheapest clients per size (median reported)")
	child := fs.String("child", "", "internal: run one client (hoist, cheap, naive)")
	host := fs.String("host", "", "internal: registry host")
	n := fs.Int("count", 0, "internal: repositories")
	cycleSizes := fs.String("services", "", "numbers of services for whole poll cycles (Updater.Check), comma-separated; two services per reference")
	cycles := fs.Int("cycles", 3, "poll cycles per client after the first")
	cycleRuns := fs.Int("cycle-runs", 3, "runs of the index and cheapest cycle clients per number of services (median reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *child {
	case "cycle-index", "cycle-list":
		return runCycle(*child, *host, *n, *conc, *cycles, stdout)
	case "cycle-cheap":
		return runCheapCycles(*host, *n, *conc, *cycles, stdout)
	}
	if *child != "" {
		return runChild(*child, *host, *n, *conc, stdout)
	}
	svcs, err := sizesOf(*cycleSizes)
	if err != nil {
		return err
	}
	ns, err := sizesOf(*sizes)
	if err != nil {
		return err
	}
	return drive(ns, svcs, *conc, *reps, *cycles, max(*cycleRuns, 1), stdout)
}

// sizesOf parses a comma-separated list of positive numbers ("" is none).
func sizesOf(list string) ([]int, error) {
	var ns []int
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad size %q", s)
		}
		ns = append(ns, v)
	}
	return ns, nil
}

// counter counts what the registry receives, by kind.
type counter struct{ ping, head, get, token, other atomic.Int64 }

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
			c.ping.Add(1)
		case r.URL.Path == "/token":
			c.token.Add(1)
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead:
			c.head.Add(1)
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet:
			c.get.Add(1)
		default:
			c.other.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

type counts struct{ Ping, Head, Get, Token, Other int64 }

func (c *counter) take() counts {
	return counts{c.ping.Swap(0), c.head.Swap(0), c.get.Swap(0), c.token.Swap(0), c.other.Swap(0)}
}

func (c counts) String() string {
	return fmt.Sprintf("ping=%d head=%d get=%d token=%d other=%d", c.Ping, c.Head, c.Get, c.Token, c.Other)
}

// result is what a child reports about its one cycle.
type result struct {
	Mode    string
	WallMS  float64
	CPUMS   float64
	MaxRSS  int64 // KiB
	Errors  int
	Counts  counts
	Refs    int
	Workers int
}

func drive(ns, svcs []int, conc, reps, cycles, cycleRuns int, out io.Writer) error {
	var cnt counter
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: cnt.wrap(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))}
	go srv.Serve(ln)
	defer srv.Close()
	host := ln.Addr().String()

	start := time.Now()
	most := slices.Max(append(slices.Clone(ns), 1))
	for _, s := range svcs {
		most = max(most, s/2)
	}
	if err := fill(host, most); err != nil {
		return err
	}
	fmt.Fprintf(out, "registry %s: %d repositories of one tiny image written in %v; concurrency %d, %d runs per client (median)\n",
		host, most, time.Since(start).Round(time.Millisecond), conc, reps)
	cnt.take()
	if err := driveCycles(svcs, conc, cycles, cycleRuns, host, &cnt, out); err != nil {
		return err
	}

	for _, n := range ns {
		byMode := map[string][]result{}
		for i := range reps {
			order := []string{"cheap", "hoist"}
			if i%2 == 1 {
				order = []string{"hoist", "cheap"}
			}
			for _, m := range order {
				r, err := runOne(m, host, n, conc, &cnt)
				if err != nil {
					return err
				}
				byMode[m] = append(byMode[m], r)
			}
		}
		r, err := runOne("naive", host, n, conc, &cnt)
		if err != nil {
			return err
		}
		byMode["naive"] = []result{r}

		fmt.Fprintf(out, "\nN=%d\n%-6s %9s %9s %8s %6s  %s\n", n, "client", "wall", "cpu", "maxrss", "errors", "requests received")
		med := map[string]result{}
		for _, m := range []string{"hoist", "cheap", "naive"} {
			med[m] = median(byMode[m])
			r := med[m]
			fmt.Fprintf(out, "%-6s %7.0fms %7.0fms %6dMiB %6d  %s\n", m, r.WallMS, r.CPUMS, r.MaxRSS/1024, r.Errors, r.Counts)
		}
		h, c, nv := med["hoist"], med["cheap"], med["naive"]
		fmt.Fprintf(out, "hoist/cheap, medians: wall %.2f, cpu %.2f, rss %.2f, requests %.2f   (naive/cheap: wall %.2f, cpu %.2f, requests %.2f)\n",
			h.WallMS/c.WallMS, h.CPUMS/c.CPUMS, float64(h.MaxRSS)/float64(c.MaxRSS), total(h.Counts)/total(c.Counts),
			nv.WallMS/c.WallMS, nv.CPUMS/c.CPUMS, total(nv.Counts)/total(c.Counts))
		bh, bc := best(byMode["hoist"]), best(byMode["cheap"])
		fmt.Fprintf(out, "hoist/cheap, best of %d runs each: wall %.2f (%.0fms/%.0fms), cpu %.2f (%.0fms/%.0fms)\n",
			reps, bh.WallMS/bc.WallMS, bh.WallMS, bc.WallMS, bh.CPUMS/bc.CPUMS, bh.CPUMS, bc.CPUMS)
		if h.Counts.Head != int64(n) || h.Counts.Get != 0 || h.Counts.Ping != 1 {
			fmt.Fprintf(out, "WARNING: hoist sent %s, want exactly %d HEADs, 1 ping, no GET\n", h.Counts, n)
		}
	}
	return nil
}

func total(c counts) float64 { return float64(c.Ping + c.Head + c.Get + c.Token + c.Other) }

// median picks the run with the median wall time (its own CPU and RSS figures).
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		if a.WallMS < b.WallMS {
			return -1
		}
		if a.WallMS > b.WallMS {
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// best is the fastest wall time and the least CPU time of the runs (noise on a shared
// machine only ever adds).
func best(rs []result) result {
	b := rs[0]
	for _, r := range rs[1:] {
		b.WallMS, b.CPUMS = min(b.WallMS, r.WallMS), min(b.CPUMS, r.CPUMS)
	}
	return b
}

func runOne(mode, host string, n, conc int, cnt *counter) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-child", mode, "-host", host, "-count", strconv.Itoa(n), "-c", strconv.Itoa(conc))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("%s client: %w", mode, err)
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return result{}, fmt.Errorf("%s client output %q: %w", mode, b, err)
	}
	r.Counts = cnt.take()
	return r, nil
}

// fill writes one tiny image under bench/r0000..r(n-1).
func fill(host string, n int) error {
	img, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	first, err := name.ParseReference(fmt.Sprintf("%s/bench/r%04d:latest", host, 0))
	if err != nil {
		return err
	}
	if err := remote.Write(first, img); err != nil {
		return err
	}
	t, err := transport.NewWithContext(context.Background(), first.Context().Registry, authn.Anonymous,
		remote.DefaultTransport, []string{first.Scope(transport.PushScope)})
	if err != nil {
		return err
	}
	refs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range refs {
				ref, _ := name.ParseReference(fmt.Sprintf("%s/bench/r%04d:latest", host, i))
				if err := remote.Put(ref, img, remote.WithTransport(t)); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := 1; i < n; i++ {
		refs <- i
	}
	close(refs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func runChild(mode, host string, n, conc int, out io.Writer) error {
	refs := make([]name.Reference, n)
	for i := range refs {
		r, err := name.ParseReference(fmt.Sprintf("%s/bench/r%04d:latest", host, i))
		if err != nil {
			return err
		}
		refs[i] = r
	}
	ctx := context.Background()
	if path := os.Getenv("POLLBENCH_CPU"); path != "" { // <path>.hoist, <path>.cheap: CPU profiles of the cycle
		if f, err := os.Create(path + "." + mode); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if path := os.Getenv("POLLBENCH_ALLOCS"); path != "" { // <path>.<client>: every allocation of the cycle
		runtime.MemProfileRate = 1
		defer writeAllocs(path + "." + mode)
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	var errCount int
	switch mode {
	case "hoist":
		c := registry.New(registry.Options{})
		for _, r := range c.ResolveMany(ctx, refs, conc) {
			if r.Err != nil {
				errCount++
			}
		}
	case "cheap":
		head, err := cheapest(ctx, refs[0])
		if err != nil {
			return err
		}
		errCount = loop(refs, conc, head)
	case "naive":
		errCount = loop(refs, conc, func(r name.Reference) error {
			_, err := remote.Head(r, remote.WithContext(ctx))
			return err
		})
	default:
		return errors.New("unknown client " + mode)
	}
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
	return json.NewEncoder(out).Encode(result{Mode: mode, WallMS: ms(wall), CPUMS: ms(cpu), MaxRSS: peakRSS(),
		Errors: errCount, Refs: n, Workers: conc})
}

// cheapest is the cheapest digest check go-containerregistry offers over many
// references: one ping (transport.NewWithContext), one Puller over that transport built
// once, Puller.Head per reference.
func cheapest(ctx context.Context, ref name.Reference) (func(name.Reference) error, error) {
	t, err := transport.NewWithContext(ctx, ref.Context().Registry, authn.Anonymous,
		remote.DefaultTransport, []string{ref.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(remote.WithTransport(t))
	if err != nil {
		return nil, err
	}
	return func(r name.Reference) error {
		_, err := p.Head(ctx, r)
		return err
	}, nil
}

func loop(refs []name.Reference, conc int, head func(name.Reference) error) int {
	work := make(chan name.Reference)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for r := range work {
				if head(r) != nil {
					errs.Add(1)
				}
			}
		})
	}
	for _, r := range refs {
		work <- r
	}
	close(work)
	wg.Wait()
	return int(errs.Load())
}

// writeAllocs writes the allocation profile (go tool pprof -sample_index=alloc_objects).
func writeAllocs(path string) {
	runtime.GC() // the profile shows what the last collection saw
	if f, err := os.Create(path); err == nil {
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
