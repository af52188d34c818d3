package demo

import (
	"context"
	"errors"
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
	"github.com/hoist-dev/hoist/updater"
)

// errInterrupted is returned when the demo was stopped by a signal (and cleaned up).
var errInterrupted = errors.New("demo interrupted; everything it created was removed")

// Options are hoist demo's flags, and what tests set besides.
type Options struct {
	Name       string
	Port       int
	PortSet    bool
	Containers bool
	Yes        bool
	Keep       bool
	Clean      bool
	DockerHost string
	// Binary is the hoist binary the images run.
	Binary string
	// Dir holds the demo's hoist.yaml, store and log (default $TMPDIR/hoist-demo-<name>).
	Dir string
	// ApproveWait bounds the wait for an approval without --yes.
	ApproveWait time.Duration
	Out         io.Writer
	// Stdin, on a terminal, lets Enter approve the held update.
	Stdin io.Reader
	// Checkpoint, when set, is called after each step while hoist still serves.
	Checkpoint func(step string, api *apiclient.Client)
}

// Run runs the demo as o says: the story, then the summary, and everything it created
// removed (or, with Keep, hoist and its dashboard serving until ctx ends).
func Run(ctx context.Context, o Options) error {
	_, err := newDemoRun(o).run(ctx)
	return err
}

// demoRun is one run of the demo.
type demoRun struct {
	opt   Options
	start time.Time
	p     *Progress

	dc         *client.Client
	dockerHost string
	swarmMode  bool // the engine is a Swarm manager
	dir        string

	reg     *Registry
	repo    string // 127.0.0.1:port/name, tag "live"
	images  map[string]v1.Image
	digests map[string]string // version → digest
	wl      demoWorkload
	sampler *Sampler
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
	avail        Availability
	rollouts     []updater.Rollout // oldest first
}

func newDemoRun(o Options) *demoRun {
	if o.Dir == "" {
		o.Dir = filepath.Join(os.TempDir(), "hoist-demo-"+o.Name)
	}
	return &demoRun{opt: o, dir: o.Dir, p: NewProgress(o.Out)}
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
	if d.opt.Checkpoint != nil && d.hoist != nil {
		d.opt.Checkpoint(step, d.hoist.api)
	}
}

// run is the whole demo. Whatever happens, what it created is removed at the end
// (unless --keep), and on Ctrl-C.
func (d *demoRun) run(ctx context.Context) (res demoResult, err error) {
	d.start = time.Now()
	if !validDemoName(d.opt.Name) {
		return res, fmt.Errorf("--name %q: use lower-case letters, digits and dashes", d.opt.Name)
	}
	if !d.opt.Clean {
		if err := CheckBinary(d.opt.Binary); err != nil {
			return res, err
		}
	}
	if d.dc, err = app.ConnectDocker(ctx, config.Docker{Host: d.opt.DockerHost}); err != nil {
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
	if d.opt.Clean {
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
	fmt.Fprintf(d.opt.Out, "hoist demo: a registry, a web app and hoist, all on this machine. Ctrl-C removes everything.\n\n")
	if err := d.setup(ctx, info.Info.ServerVersion); err != nil {
		return res, err
	}
	if err := d.story(ctx); err != nil {
		return res, err
	}
	d.res.total = time.Since(d.start)
	d.summary(ctx)
	d.checkpoint("summary")
	if d.opt.Keep {
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
	} else if d.opt.Containers {
		mode = "Swarm manager; --containers: a standalone container"
	}
	fmt.Fprintf(d.opt.Out, "  engine    %s (Docker %s, %s)\n", d.dockerHost, engineVersion, mode)

	var err error
	if d.reg, err = StartRegistry(); err != nil {
		return err
	}
	d.repo = d.reg.Host + "/" + d.opt.Name
	fmt.Fprintf(d.opt.Out, "  registry  %s, in this process (go-containerregistry)\n", d.reg.Host)

	t := time.Now()
	d1, err := d.buildImages(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.opt.Out, "  images    v1, v2, v4 healthy; v3 crashes 8 s after start. No base image: one layer,\n")
	fmt.Fprintf(d.opt.Out, "            the hoist binary, run as `hoist demo-app` (%.1fs)\n", time.Since(t).Seconds())

	if err := d.pickPort(); err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	t = time.Now()
	image := d.ref() + "@" + d1.String()
	if d.swarmMode && !d.opt.Containers {
		d.wl = &demoService{dc: d.dc, name: d.opt.Name, port: d.opt.Port}
	} else {
		d.wl = &demoContainer{dc: d.dc, name: d.opt.Name, port: d.opt.Port}
		image = d.ref()
	}
	err = d.wl.create(ctx, image, d.p.Live)
	d.p.Done()
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", d.opt.Port)
	fmt.Fprintf(d.opt.Out, "  workload  %s, running v1 (%.1fs)\n", d.wl.what(), time.Since(t).Seconds())
	fmt.Fprintf(d.opt.Out, "            try: curl %s\n", url)
	d.sampler = StartSampler(context.WithoutCancel(ctx), url, 200*time.Millisecond)

	t = time.Now()
	if err := d.tokens(); err != nil {
		return err
	}
	if d.hoist, err = d.startHoist(ctx, false); err != nil {
		return err
	}
	d.reg.NotifyTo("http://"+d.apiAddr+"/webhooks/distribution", d.hookToken)
	fmt.Fprintf(d.opt.Out, "  hoist     http://%s, in this process (%.1fs)\n", d.apiAddr, time.Since(t).Seconds())
	fmt.Fprintf(d.opt.Out, "            policy demo: start-first, one replica at a time, monitor 2s; health.watch %s\n", demoWatch)
	fmt.Fprintf(d.opt.Out, "            its config (API token included) and log: %s/\n", d.dir)
	d.sayDashboard("  dashboard ")
	d.checkpoint("setup")
	return nil
}

// buildImages builds v1…v4 from the hoist binary and pushes v1; it returns v1's digest.
func (d *demoRun) buildImages(ctx context.Context) (v1.Hash, error) {
	d.p.Live("building images v1…v4 from " + d.opt.Binary)
	defer d.p.Done()
	layer, err := Layer(d.opt.Binary)
	if err != nil {
		return v1.Hash{}, err
	}
	d.images, d.digests = map[string]v1.Image{}, map[string]string{}
	versions := []Version{
		{Name: "v1"}, {Name: "v2"},
		{Name: "v3", Mode: CrashAfter, CrashAfter: 8 * time.Second},
		{Name: "v4"},
	}
	for _, v := range versions {
		img, err := Image(layer, v, map[string]string{demoLabel: d.opt.Name})
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image %s: %w", v.Name, err)
		}
		dg, err := img.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		d.images[v.Name], d.digests[v.Name] = img, dg.String()
	}
	return Push(ctx, d.ref(), d.images["v1"])
}

func (d *demoRun) ref() string { return d.repo + ":live" }

// pickPort keeps the port asked for; the default is replaced by a free one when taken.
func (d *demoRun) pickPort() error {
	if portFree(d.opt.Port) {
		return nil
	}
	if d.opt.PortSet {
		return fmt.Errorf("port %d on 127.0.0.1 is in use; pass another --port", d.opt.Port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.opt.Port = l.Addr().(*net.TCPAddr).Port
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
					return fmt.Errorf("an earlier hoist demo named %s still runs (its hoist answers at %s): stop it first, or pass another --name", d.opt.Name, api.URL())
				}
			}
		}
	} else if _, err := os.Stat(d.dir); err == nil {
		return fmt.Errorf("%s exists and was not made by hoist demo; remove it, or pass another --name", d.dir)
	}
	o, err := findDemo(ctx, d.dc, d.opt.Name, d.swarmMode)
	if err != nil {
		return err
	}
	if err := d.refuseForeign(ctx); err != nil {
		return err
	}
	if !o.empty() {
		if say {
			fmt.Fprintf(d.opt.Out, "An earlier demo left %s; removing them first.\n", o)
		}
		err := removeDemo(ctx, d.dc, d.opt.Name, d.swarmMode, d.p.Live)
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
		if s, err := d.dc.ServiceInspect(ctx, d.opt.Name, client.ServiceInspectOptions{}); err == nil && s.Service.Spec.Labels[demoLabel] != d.opt.Name {
			return fmt.Errorf("a service named %s exists and is not the demo's; pass another --name", d.opt.Name)
		}
	}
	if c, err := d.dc.ContainerInspect(ctx, d.opt.Name, client.ContainerInspectOptions{}); err == nil && c.Container.Config != nil && c.Container.Config.Labels[demoLabel] != d.opt.Name {
		return fmt.Errorf("a container named %s exists and is not the demo's; pass another --name", d.opt.Name)
	}
	return nil
}

// clean is --clean: remove what an earlier run left.
func (d *demoRun) clean(ctx context.Context) error {
	o, err := findDemo(ctx, d.dc, d.opt.Name, d.swarmMode)
	if err != nil {
		return err
	}
	_, dirErr := os.Stat(d.cfgPath())
	if o.empty() && dirErr != nil {
		fmt.Fprintf(d.opt.Out, "Nothing of a demo named %s is left.\n", d.opt.Name)
		return nil
	}
	if err := d.clearEarlier(ctx, false); err != nil {
		return err
	}
	fmt.Fprintf(d.opt.Out, "Removed %s and %s.\n", o, d.dir)
	return nil
}

// teardown removes everything the demo created. It runs on its own context: Ctrl-C
// has usually cancelled the run's.
func (d *demoRun) teardown(runCtx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), 3*time.Minute)
	defer cancel()
	d.p.Done()
	if runCtx.Err() != nil {
		fmt.Fprintln(d.opt.Out, "\nInterrupted: removing what the demo created…")
	}
	t := time.Now()
	var removed []string
	if d.wl != nil {
		removed = append(removed, d.wlWhat())
	}
	if o, err := findDemo(ctx, d.dc, d.opt.Name, d.swarmMode); err == nil && len(o.images) > 0 {
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
	removeDemo(ctx, d.dc, d.opt.Name, d.swarmMode, d.p.Live)
	if d.hoist != nil {
		d.p.Live("stopping hoist")
		// A rollout of the removed workload would keep hoist for its shutdown grace
		// period (30 s); it ends with this process instead.
		if err := d.hoist.stop(5 * time.Second); err != nil && !errors.Is(err, errStillStopping) {
			fmt.Fprintf(d.opt.Out, "  hoist: %v\n", err)
		}
	}
	err := removeDemo(ctx, d.dc, d.opt.Name, d.swarmMode, d.p.Live)
	d.p.Done()
	if d.reg != nil {
		d.reg.Close()
	}
	os.RemoveAll(d.dir)
	if err != nil {
		fmt.Fprintf(d.opt.Out, "Could not remove everything: %v\nRun: hoist demo --clean --name %s\n", err, d.opt.Name)
		return
	}
	if len(removed) > 0 {
		fmt.Fprintf(d.opt.Out, "Removed %s (%.1fs).\n", strings.Join(removed, ", "), time.Since(t).Seconds())
	}
}

// wlWhat names the workload: "service hoist-demo".
func (d *demoRun) wlWhat() string { return strings.Replace(d.wl.key(), "/", " ", 1) }

// sayDashboard says where hoist's dashboard is and how to log in: with the API token
// of the demo's hoist.yaml (api.token), which is printed here.
func (d *demoRun) sayDashboard(lead string) {
	fmt.Fprintf(d.opt.Out, "%shttp://%s/ — log in with the API token %s (api.token in %s)\n", lead, d.apiAddr, d.apiToken, d.cfgPath())
}

// keepServing is the end of a --keep run: hoist and the registry serve until Ctrl-C;
// the workload, images and data stay.
func (d *demoRun) keepServing(ctx context.Context) {
	fmt.Fprintf(d.opt.Out, "\n--keep: hoist and its dashboard keep serving. To explore:\n")
	d.sayDashboard("  ")
	fmt.Fprintf(d.opt.Out, "  curl http://127.0.0.1:%d/\n", d.opt.Port)
	fmt.Fprintf(d.opt.Out, "  %s history --config %s\n", d.opt.Binary, d.cfgPath())
	fmt.Fprintf(d.opt.Out, "  the API at http://%s/api/v1/ (the same token)\n", d.apiAddr)
	fmt.Fprintf(d.opt.Out, "Press Ctrl-C to stop hoist and the registry; then `%s demo --clean --name %s` removes the rest.\n",
		d.opt.Binary, d.opt.Name)
	d.checkpoint("keep")
	<-ctx.Done()
	if d.sampler != nil {
		d.sampler.Stop()
	}
	d.hoist.stop(time.Minute)
	d.reg.Close()
	fmt.Fprintf(d.opt.Out, "\nhoist and the registry stopped. Left: %s (still answering), its images, and %s.\n"+
		"`hoist demo --clean --name %s` removes them; so does the next demo.\n", d.wlWhat(), d.dir, d.opt.Name)
}
