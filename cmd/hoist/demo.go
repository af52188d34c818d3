package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/demo"
	"github.com/hoist-dev/hoist/updater"
)

const demoSummary = `Show hoist at work on this machine, in about a minute. On the Docker engine of
DOCKER_HOST (or the usual socket) the demo starts a registry on 127.0.0.1, builds
images of a small web app without any base image (the app is this hoist binary), runs
them as a Swarm service of 2 replicas answering on 127.0.0.1:PORT (a standalone
container when the engine is not a Swarm manager, or with --containers), and runs
hoist in this process. Then, told as it happens from hoist's own API:
  1. v2 is pushed; the registry's webhook reaches hoist, which rolls it out and watches it;
  2. v3, which crashes 8 s after it starts, is pushed: hoist catches the crash after
     Swarm said "completed", rolls back to v2 and quarantines v3; a second push is ignored;
  3. hoist.yaml is edited to add when.approve and hoist reloads it (SIGHUP, no restart);
     v4 is then held until it is approved: by the demo with --yes, else by the hoist
     approve command it prints (or Enter, on a terminal);
  4. a summary, with how many of the requests sent to the service all along got an answer.
Ctrl-C at any point removes everything the demo created; --keep leaves it for exploring.
The images run this very binary, so it must be linked statically (CGO_ENABLED=0;
scripts/run.sh builds it so).`

// errInterrupted is returned when the demo was stopped by a signal (and cleaned up).
var errInterrupted = errors.New("demo interrupted; everything it created was removed")

// demoOptions are hoist demo's flags, and what tests set besides.
type demoOptions struct {
	name       string
	port       int
	portSet    bool
	containers bool
	yes        bool
	keep       bool
	clean      bool
	dockerHost string
	// binary is the hoist binary the images run (default: this one).
	binary string
	// dir holds the demo's hoist.yaml, store and log (default $TMPDIR/hoist-demo-<name>).
	dir string
	// approveWait bounds the wait for an approval without --yes.
	approveWait time.Duration
	out         io.Writer
	// stdin, on a terminal, lets Enter approve the held update.
	stdin io.Reader
	// checkpoint, when set, is called after each step while hoist still serves.
	checkpoint func(step string, api *apiclient.Client)
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoSummary, stderr)
	o := demoOptions{out: stdout, stdin: os.Stdin, approveWait: 10 * time.Minute}
	fs.StringVar(&o.name, "name", "hoist-demo", "name of the demo's service or container (and of its images)")
	fs.IntVar(&o.port, "port", 8088, "port on 127.0.0.1 where the demo app answers (another free one when 8088 is taken)")
	fs.BoolVar(&o.containers, "containers", false, "use a standalone container even on a Swarm manager")
	fs.BoolVar(&o.yes, "yes", false, "approve the update held for approval without waiting for you")
	fs.BoolVar(&o.keep, "keep", false, "at the end keep hoist serving until Ctrl-C, then leave the workload, images and data for exploring")
	fs.BoolVar(&o.clean, "clean", false, "only remove what an earlier demo of this --name left (after --keep), then exit")
	fs.StringVar(&o.dockerHost, "docker-host", "", "Docker host URL (default: DOCKER_HOST, then the usual socket)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	fs.Visit(func(f *flag.Flag) { o.portSet = o.portSet || f.Name == "port" })
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.binary = exe
	_, err = newDemoRun(o).run(ctx)
	return err
}

// demoRun is one run of the demo.
type demoRun struct {
	opt   demoOptions
	start time.Time
	p     *demo.Progress

	dc         *client.Client
	dockerHost string
	swarmMode  bool // the engine is a Swarm manager
	dir        string

	reg     *demo.Registry
	repo    string // 127.0.0.1:port/name, tag "live"
	images  map[string]v1.Image
	digests map[string]string // version → digest
	wl      demoWorkload
	sampler *demo.Sampler
	hoist   *demoHoist

	apiAddr, apiToken, hookToken string
	// pushNote is how many notes the registry had before the last push.
	pushNote int

	res demoResult
}

// demoResult is what a run measured.
type demoResult struct {
	// firstRollout is the time from the command to the first completed rollout.
	firstRollout time.Duration
	total        time.Duration
	avail        demo.Availability
	rollouts     []updater.Rollout // oldest first
}

func newDemoRun(o demoOptions) *demoRun {
	if o.dir == "" {
		o.dir = filepath.Join(os.TempDir(), "hoist-demo-"+o.name)
	}
	return &demoRun{opt: o, dir: o.dir, p: demo.NewProgress(o.out)}
}

func (d *demoRun) elapsed(t time.Time) string {
	return fmt.Sprintf("[%5.1fs]", t.Sub(d.start).Seconds())
}

// say prints a narrated line stamped with the time since the command.
func (d *demoRun) say(format string, args ...any) { d.sayAt(time.Now(), format, args...) }

func (d *demoRun) sayAt(t time.Time, format string, args ...any) {
	d.p.Printf("  %s %s", d.elapsed(t), fmt.Sprintf(format, args...))
}

func (d *demoRun) checkpoint(step string) {
	if d.opt.checkpoint != nil && d.hoist != nil {
		d.opt.checkpoint(step, d.hoist.api)
	}
}

// run is the whole demo. Whatever happens, what it created is removed at the end
// (unless --keep), and on Ctrl-C.
func (d *demoRun) run(ctx context.Context) (res demoResult, err error) {
	d.start = time.Now()
	if !validDemoName(d.opt.name) {
		return res, fmt.Errorf("--name %q: use lower-case letters, digits and dashes", d.opt.name)
	}
	if !d.opt.clean {
		if err := demo.CheckBinary(d.opt.binary); err != nil {
			return res, err
		}
	}
	if d.dc, err = app.ConnectDocker(ctx, config.Docker{Host: d.opt.dockerHost}); err != nil {
		return res, fmt.Errorf("%w\nstart one with: eval \"$(scripts/engine.sh start)\"", err)
	}
	defer d.dc.Close()
	d.dockerHost = d.dc.DaemonHost()
	if !localEngine(d.dockerHost) {
		return res, fmt.Errorf("the engine at %s is not on this machine: the demo's registry and app answer on 127.0.0.1 here", d.dockerHost)
	}
	info, err := d.dc.Info(ctx, client.InfoOptions{})
	if err != nil {
		return res, fmt.Errorf("docker engine: %w", err)
	}
	d.swarmMode = info.Info.Swarm.LocalNodeState == "active" && info.Info.Swarm.ControlAvailable
	if d.opt.clean {
		return res, d.clean(ctx)
	}
	if err := d.clearEarlier(ctx, true); err != nil {
		return res, err
	}

	kept := false
	defer func() {
		if kept {
			return
		}
		d.teardown(ctx)
		if ctx.Err() != nil {
			err = errInterrupted
		}
	}()
	fmt.Fprintf(d.opt.out, "hoist demo: a registry, a web app and hoist, all on this machine. Ctrl-C removes everything.\n\n")
	if err := d.setup(ctx, info.Info.ServerVersion); err != nil {
		return res, err
	}
	if err := d.story(ctx); err != nil {
		return res, err
	}
	d.res.total = time.Since(d.start)
	d.summary(ctx)
	d.checkpoint("summary")
	if d.opt.keep {
		kept = true
		d.keepServing(ctx)
	}
	return d.res, nil
}

// localEngine reports whether a Docker host URL names an engine on this machine.
func localEngine(host string) bool {
	u, err := neturl.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		h := u.Hostname()
		return h == "localhost" || net.ParseIP(h).IsLoopback()
	}
	return false
}

func validDemoName(s string) bool {
	if s == "" || len(s) > 48 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// setup starts the registry, builds and pushes v1, runs the workload on it, starts
// the availability sampler and hoist.
func (d *demoRun) setup(ctx context.Context, engineVersion string) error {
	mode := "Swarm manager"
	if !d.swarmMode {
		mode = "not a Swarm manager: a standalone container"
	} else if d.opt.containers {
		mode = "Swarm manager; --containers: a standalone container"
	}
	fmt.Fprintf(d.opt.out, "  engine    %s (Docker %s, %s)\n", d.dockerHost, engineVersion, mode)

	var err error
	if d.reg, err = demo.StartRegistry(); err != nil {
		return err
	}
	d.repo = d.reg.Host + "/" + d.opt.name
	fmt.Fprintf(d.opt.out, "  registry  %s, in this process (go-containerregistry)\n", d.reg.Host)

	t := time.Now()
	d1, err := d.buildImages(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.opt.out, "  images    v1, v2, v4 healthy; v3 crashes 8 s after start. No base image: one layer,\n")
	fmt.Fprintf(d.opt.out, "            the hoist binary, run as `hoist demo-app` (%.1fs)\n", time.Since(t).Seconds())

	if err := d.pickPort(); err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	t = time.Now()
	image := d.ref() + "@" + d1.String()
	if d.swarmMode && !d.opt.containers {
		d.wl = &demoService{dc: d.dc, name: d.opt.name, port: d.opt.port}
	} else {
		d.wl = &demoContainer{dc: d.dc, name: d.opt.name, port: d.opt.port}
		image = d.ref()
	}
	err = d.wl.create(ctx, image, d.p.Live)
	d.p.Done()
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", d.opt.port)
	fmt.Fprintf(d.opt.out, "  workload  %s, running v1 (%.1fs)\n", d.wl.what(), time.Since(t).Seconds())
	fmt.Fprintf(d.opt.out, "            try: curl %s\n", url)
	d.sampler = demo.StartSampler(context.WithoutCancel(ctx), url, 200*time.Millisecond)

	t = time.Now()
	if err := d.tokens(); err != nil {
		return err
	}
	if d.hoist, err = d.startHoist(ctx, false); err != nil {
		return err
	}
	d.reg.NotifyTo("http://"+d.apiAddr+"/webhooks/distribution", d.hookToken)
	fmt.Fprintf(d.opt.out, "  hoist     http://%s, in this process (%.1fs)\n", d.apiAddr, time.Since(t).Seconds())
	fmt.Fprintf(d.opt.out, "            policy demo: start-first, one replica at a time, monitor 2s; health.watch %s\n", demoWatch)
	fmt.Fprintf(d.opt.out, "            its config (API token included) and log: %s/\n", d.dir)
	d.checkpoint("setup")
	return nil
}

// buildImages builds v1…v4 from the hoist binary and pushes v1; it returns v1's digest.
func (d *demoRun) buildImages(ctx context.Context) (v1.Hash, error) {
	d.p.Live("building images v1…v4 from " + d.opt.binary)
	defer d.p.Done()
	layer, err := demo.Layer(d.opt.binary)
	if err != nil {
		return v1.Hash{}, err
	}
	d.images, d.digests = map[string]v1.Image{}, map[string]string{}
	versions := []demo.Version{
		{Name: "v1"}, {Name: "v2"},
		{Name: "v3", Mode: demo.CrashAfter, CrashAfter: 8 * time.Second},
		{Name: "v4"},
	}
	for _, v := range versions {
		img, err := demo.Image(layer, v, map[string]string{demoLabel: d.opt.name})
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image %s: %w", v.Name, err)
		}
		dg, err := img.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		d.images[v.Name], d.digests[v.Name] = img, dg.String()
	}
	return demo.Push(ctx, d.ref(), d.images["v1"])
}

func (d *demoRun) ref() string { return d.repo + ":live" }

// pickPort keeps the port asked for; the default is replaced by a free one when taken.
func (d *demoRun) pickPort() error {
	if portFree(d.opt.port) {
		return nil
	}
	if d.opt.portSet {
		return fmt.Errorf("port %d on 127.0.0.1 is in use; pass another --port", d.opt.port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.opt.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// tokens picks hoist's API address and the two secrets.
func (d *demoRun) tokens() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.apiAddr = l.Addr().String()
	l.Close()
	d.apiToken, d.hookToken = randToken(), randToken()
	return nil
}

// clearEarlier removes what an earlier run of this demo left (--keep, or a killed
// run), unless that run still serves.
func (d *demoRun) clearEarlier(ctx context.Context, say bool) error {
	if b, err := os.ReadFile(d.cfgPath()); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if addr, ok := strings.CutPrefix(line, "listen: "); ok {
				api := apiclient.New("http://"+strings.TrimSpace(addr), "", time.Second)
				if api.Healthy(ctx) {
					return fmt.Errorf("an earlier hoist demo named %s still runs (its hoist answers at %s): stop it first, or pass another --name", d.opt.name, api.URL())
				}
			}
		}
	} else if _, err := os.Stat(d.dir); err == nil {
		return fmt.Errorf("%s exists and was not made by hoist demo; remove it, or pass another --name", d.dir)
	}
	o, err := findDemo(ctx, d.dc, d.opt.name, d.swarmMode)
	if err != nil {
		return err
	}
	if err := d.refuseForeign(ctx); err != nil {
		return err
	}
	if !o.empty() {
		if say {
			fmt.Fprintf(d.opt.out, "An earlier demo left %s; removing them first.\n", o)
		}
		err := removeDemo(ctx, d.dc, d.opt.name, d.swarmMode, d.p.Live)
		d.p.Done()
		if err != nil {
			return err
		}
	}
	return os.RemoveAll(d.dir)
}

// refuseForeign refuses to run when a service or container of the demo's name exists
// that the demo did not make.
func (d *demoRun) refuseForeign(ctx context.Context) error {
	if d.swarmMode {
		if s, err := d.dc.ServiceInspect(ctx, d.opt.name, client.ServiceInspectOptions{}); err == nil && s.Service.Spec.Labels[demoLabel] != d.opt.name {
			return fmt.Errorf("a service named %s exists and is not the demo's; pass another --name", d.opt.name)
		}
	}
	if c, err := d.dc.ContainerInspect(ctx, d.opt.name, client.ContainerInspectOptions{}); err == nil && c.Container.Config != nil && c.Container.Config.Labels[demoLabel] != d.opt.name {
		return fmt.Errorf("a container named %s exists and is not the demo's; pass another --name", d.opt.name)
	}
	return nil
}

// clean is --clean: remove what an earlier run left.
func (d *demoRun) clean(ctx context.Context) error {
	o, err := findDemo(ctx, d.dc, d.opt.name, d.swarmMode)
	if err != nil {
		return err
	}
	_, dirErr := os.Stat(d.cfgPath())
	if o.empty() && dirErr != nil {
		fmt.Fprintf(d.opt.out, "Nothing of a demo named %s is left.\n", d.opt.name)
		return nil
	}
	if err := d.clearEarlier(ctx, false); err != nil {
		return err
	}
	fmt.Fprintf(d.opt.out, "Removed %s and %s.\n", o, d.dir)
	return nil
}

// teardown removes everything the demo created. It runs on its own context: Ctrl-C
// has usually cancelled the run's.
func (d *demoRun) teardown(runCtx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), 3*time.Minute)
	defer cancel()
	d.p.Done()
	if runCtx.Err() != nil {
		fmt.Fprintln(d.opt.out, "\nInterrupted: removing what the demo created…")
	}
	t := time.Now()
	var removed []string
	if d.wl != nil {
		removed = append(removed, d.wlWhat())
	}
	if o, err := findDemo(ctx, d.dc, d.opt.name, d.swarmMode); err == nil && len(o.images) > 0 {
		removed = append(removed, fmt.Sprintf("%d image(s)", len(o.images)))
	}
	if d.reg != nil {
		removed = append(removed, "the registry")
	}
	if _, err := os.Stat(d.dir); err == nil {
		removed = append(removed, d.dir)
	}
	if d.sampler != nil {
		d.sampler.Stop()
	}
	// The workload goes first: a rollout in flight then ends at once, and hoist stops
	// without finishing it. What hoist still touched on its way out goes next.
	removeDemo(ctx, d.dc, d.opt.name, d.swarmMode, d.p.Live)
	if d.hoist != nil {
		d.p.Live("stopping hoist")
		// A rollout of the removed workload would keep hoist for its shutdown grace
		// period (30 s); it ends with this process instead.
		if err := d.hoist.stop(5 * time.Second); err != nil && !errors.Is(err, errStillStopping) {
			fmt.Fprintf(d.opt.out, "  hoist: %v\n", err)
		}
	}
	err := removeDemo(ctx, d.dc, d.opt.name, d.swarmMode, d.p.Live)
	d.p.Done()
	if d.reg != nil {
		d.reg.Close()
	}
	os.RemoveAll(d.dir)
	if err != nil {
		fmt.Fprintf(d.opt.out, "Could not remove everything: %v\nRun: hoist demo --clean --name %s\n", err, d.opt.name)
		return
	}
	if len(removed) > 0 {
		fmt.Fprintf(d.opt.out, "Removed %s (%.1fs).\n", strings.Join(removed, ", "), time.Since(t).Seconds())
	}
}

// wlWhat names the workload: "service hoist-demo".
func (d *demoRun) wlWhat() string { return strings.Replace(d.wl.key(), "/", " ", 1) }

// keepServing is the end of a --keep run: hoist and the registry serve until Ctrl-C;
// the workload, images and data stay.
func (d *demoRun) keepServing(ctx context.Context) {
	fmt.Fprintf(d.opt.out, "\n--keep: hoist keeps serving until Ctrl-C. To explore:\n")
	fmt.Fprintf(d.opt.out, "  curl http://127.0.0.1:%d/\n", d.opt.port)
	fmt.Fprintf(d.opt.out, "  %s history --config %s\n", d.opt.binary, d.cfgPath())
	fmt.Fprintf(d.opt.out, "  the API at http://%s/api/v1/ (its token is api.token in that file)\n", d.apiAddr)
	d.checkpoint("keep")
	<-ctx.Done()
	if d.sampler != nil {
		d.sampler.Stop()
	}
	d.hoist.stop(time.Minute)
	d.reg.Close()
	fmt.Fprintf(d.opt.out, "\nhoist and the registry stopped. Left: %s (still answering), its images, and %s.\n"+
		"`hoist demo --clean --name %s` removes them; so does the next demo.\n", d.wlWhat(), d.dir, d.opt.name)
}
