//go:build speed

// Measurements, not tests: built only with -tags speed (scripts/bench-speed.sh).

package updater_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	hswarm "github.com/hoist-dev/hoist/updater/swarm"
	"github.com/hoist-dev/hoist/webhook"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// listOnly is a backend with only the methods of updater.Backend: no index, so every
// listing asks the engine (hoist before the index, and its fallback).
type listOnly struct{ updater.Backend }

// splice answers the engine's service listings with copies services more: the real
// engine's answer (the target and the real unrelated services, as they are now) and,
// after it, a recorded set of clones of the unrelated ones under other IDs and names.
type splice struct {
	base   http.RoundTripper
	clones []byte // JSON objects, comma-separated, no brackets
}

func (s *splice) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil || len(s.clones) == 0 || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/services") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	out := make([]byte, 0, len(body)+len(s.clones)+2)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = append(append(out, s.clones...), ']')
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(out)), int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// record makes copies clones of every service labelled hoist.speed=run except target.
func record(t *testing.T, c *client.Client, run, target string, copies int) []byte {
	t.Helper()
	res, err := c.ServiceList(context.Background(), client.ServiceListOptions{Filters: make(client.Filters).Add("label", "hoist.speed="+run)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for k := 1; k <= copies; k++ {
		for _, s := range res.Items {
			if s.ID == target {
				continue
			}
			s.ID = fmt.Sprintf("%s%04d", s.ID[:min(len(s.ID), 21)], k)
			s.Spec.Name = fmt.Sprintf("%s-c%d", s.Spec.Name, k)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if buf.Len() > 0 {
				buf.WriteByte(',')
			}
			buf.Write(b)
		}
	}
	return buf.Bytes()
}

// createIdle creates n services with no replica on image, labelled hoist.speed=run.
func createIdle(t *testing.T, c *client.Client, run, image string, n int) {
	t.Helper()
	createServices(t, c, n, func(i int) swarm.ServiceSpec {
		return swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: fmt.Sprintf("hoist-speed-%s-%05d", run, i), Labels: map[string]string{"hoist.speed": run, "tier": "idle"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
		}
	})
}

// createServices creates n services, service i as spec(i) says but with no replica,
// 8 at once, and removes them when the test ends.
func createServices(t *testing.T, c *client.Client, n int, spec func(int) swarm.ServiceSpec) {
	t.Helper()
	zero := uint64(0)
	var mu sync.Mutex
	var ids []string
	t.Cleanup(func() {
		parallel(len(ids), func(i int) error {
			c.ServiceRemove(context.Background(), ids[i], client.ServiceRemoveOptions{})
			return nil
		})
	})
	err := parallel(n, func(i int) error {
		s := spec(i)
		s.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}}
		res, err := c.ServiceCreate(context.Background(), client.ServiceCreateOptions{Spec: s})
		if err != nil {
			return err
		}
		mu.Lock()
		ids = append(ids, res.ID)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("create services: %v", err)
	}
}

// parallel runs f for 0…n-1 on 8 goroutines and returns the first error.
func parallel(n int, f func(int) error) error {
	work := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return first
}

// specChanges reports the time of each change of the service id's image (engine
// events), with the new image.
type specChange struct {
	at    time.Time
	image string
}

func specChanges(t *testing.T, c *client.Client, id string) <-chan specChange {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res := c.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "service").Add("service", id)})
	out := make(chan specChange, 64)
	go func() {
		for {
			select {
			case m := <-res.Messages:
				if img := m.Actor.Attributes["image.new"]; img != "" {
					out <- specChange{time.Unix(0, m.TimeNano), img}
				}
			case <-res.Err:
				return
			}
		}
	}()
	return out
}

// percentiles are the median and the 95th percentile of ds.
func percentiles(ds []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	p95 := s[min(len(s)-1, (len(s)*95+99)/100-1)]
	return s[len(s)/2], p95
}

func signed(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// speedRun is one configuration of TestSpeedWebhookToSpec: an updater over the engine
// (its listings spliced up to the scale), a webhook receiver in front of it.
type speedRun struct {
	t       *testing.T
	u       *updater.Updater
	store   *updater.Store
	url     string
	secret  []byte
	cancel  func()
	stopped chan struct{}
}

func startSpeedRun(t *testing.T, c *client.Client, clones []byte, indexed bool, prefix string) *speedRun {
	t.Helper()
	sc := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { return &splice{base: base, clones: clones} })
	sb := hswarm.New(sc)
	var b updater.Backend = listOnly{sb}
	if indexed {
		b = sb
	}
	rule, err := policy.NewRule("speed", []string{prefix + "*"}, nil, nil, policy.Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := updater.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	plan := updater.Plan{Written: updater.AllFields, Parallelism: 1, Monitor: 200 * time.Millisecond, Timeout: time.Minute}
	log := zerolog.Nop()
	if path := os.Getenv("HOIST_SPEED_LOG"); path != "" { // the updater's log, to read a slow sample
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		log = zerolog.New(f).Level(zerolog.DebugLevel).With().Timestamp().Bool("indexed", indexed).Logger()
	}
	u := updater.New(updater.Options{Backends: []updater.Backend{b}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"speed": plan}, Resolver: registry.New(registry.Options{}), Store: st, Log: log})
	r := &speedRun{t: t, u: u, store: st, secret: []byte("speed-secret-0123456789abcdef0123456789"), stopped: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { u.Run(ctx); close(r.stopped) }()
	wh := webhook.New(config.Webhooks{Generic: &config.SecretSource{Secret: config.Secret(r.secret)}}, u, zerolog.Nop())
	e := echo.New()
	wh.Register(e)
	srv := httptest.NewServer(e)
	r.url = srv.URL + "/webhooks/generic"
	t.Cleanup(srv.Close)
	if indexed {
		waitFor(t, 2*time.Minute, "the index", func() bool { _, live := sb.Current(); return live })
	}
	if _, err := u.Workloads(ctx); err != nil { // the first match, before the first sample
		t.Fatal(err)
	}
	return r
}

func (r *speedRun) stop() {
	r.cancel()
	<-r.stopped
	r.store.Close()
}

// post sends the generic webhook for image and returns when it was answered.
func (r *speedRun) post(image string) {
	body := []byte(`{"image":"` + image + `"}`)
	req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hoist-Signature", signed(r.secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		r.t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

// TestSpeedWebhookToSpec measures a webhook's POST → the new image in the target
// service's spec (the engine's event), with unrelated services on the engine, listed
// per event (before the index) and read from the index, in the same run.
func TestSpeedWebhookToSpec(t *testing.T) {
	c := testenv.Docker(t)
	reg := testenv.NewRegistry(t)
	run := randomHex()
	prefix := "hoist-speed-" + run + "-"
	n, samples, scale := envInt("HOIST_SPEED_SERVICES", 1000), envInt("HOIST_SPEED_SAMPLES", 15), envInt("HOIST_SPEED_SCALE", 10)
	ref := reg.Host + "/app:stable"
	d := testenv.PushApp(t, ref, testenv.App{Version: "0", NoHealthcheck: true})
	other := testenv.PushApp(t, reg.Host+"/other:stable", testenv.App{Version: "x", NoHealthcheck: true})
	began := time.Now()
	createIdle(t, c, run, reg.Host+"/other:stable@"+other.String(), n)
	fmt.Printf("SPEED setup: %d unrelated services created in %s\n", n, time.Since(began).Round(time.Second))
	target := createService(t, c, prefix+"target", ref+"@"+d.String())
	changes := specChanges(t, c, target.ID)
	type config struct {
		services int
		clones   []byte
	}
	// HOIST_SPEED_SCALE=1 measures only the real services (e.g. 10,000 of them).
	cfgs := []config{{n, nil}}
	if scale > 1 {
		cfgs = append(cfgs, config{n * scale, record(t, c, run, target.ID, scale-1)})
	}
	version := 0
	for _, cfg := range cfgs {
		for _, indexed := range []bool{false, true} {
			r := startSpeedRun(t, c, cfg.clones, indexed, prefix)
			var lat []time.Duration
			// The first sample warms up and is not counted: the new updater resumes the
			// last configuration's rollout from the engine first (its store is empty,
			// the service carries hoist's marker), and pings the registry.
			for i := range samples + 1 {
				version++
				want := ref + "@" + testenv.PushApp(t, ref, testenv.App{Version: strconv.Itoa(version), NoHealthcheck: true}).String()
				t0 := time.Now()
				r.post(ref)
				if d := awaitImage(t, changes, want).Sub(t0); i > 0 {
					lat = append(lat, d)
				}
				waitFor(t, time.Minute, "the rollout's end", func() bool {
					rs, err := r.store.Rollouts(target.Key(), 1)
					return err == nil && len(rs) == 1 && rs[0].To == want && rs[0].Outcome != updater.Running
				})
				// The receiver's trailing event (1 s) and the re-checks of a push found up
				// to date (2 s, 5 s after it) run before the next sample, not during it.
				time.Sleep(time.Until(t0.Add(spacing)))
				settle(r.u)
			}
			r.stop()
			med, p95 := percentiles(lat)
			mode := "listed per event (baseline)"
			if indexed {
				mode = "read from the index"
			}
			how := "real services"
			if cfg.clones != nil {
				how = fmt.Sprintf("%d real, the rest recorded and served by the transport", n+1)
			}
			fmt.Printf("SPEED webhook→spec  %6d services (%s), %-28s median %4dms  p95 %4dms  (%d samples) %v\n",
				cfg.services+1, how, mode, med.Milliseconds(), p95.Milliseconds(), len(lat), lat)
		}
	}
}

// spacing separates the samples of TestSpeedWebhookToSpec.
const spacing = 6500 * time.Millisecond

// awaitImage waits for the spec change to image and returns when the engine made it.
func awaitImage(t *testing.T, changes <-chan specChange, image string) time.Time {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case ch := <-changes:
			if ch.image == image {
				return ch.at
			}
		case <-deadline:
			t.Fatalf("the spec never ran %s", image)
		}
	}
}

// TestSpeedDeathToRollback measures a new task's death after Swarm reported the update
// completed → hoist's rollback in the spec (both from the engine's events), with the
// watch polling only (baseline) and woken by the event stream, in the same run.
func TestSpeedDeathToRollback(t *testing.T) {
	c := testenv.Docker(t)
	reg := testenv.NewRegistry(t)
	reps := envInt("HOIST_SPEED_REPS", 3)
	ref := reg.Host + "/app:stable"
	good := testenv.PushApp(t, ref, testenv.App{Version: "1", NoHealthcheck: true})
	bad := testenv.PushApp(t, ref, testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 3 * time.Second, NoHealthcheck: true})
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	target := updater.Target{Tag: tag, Digest: bad}
	for _, follow := range []bool{false, true} {
		var lat []time.Duration
		for range reps {
			w := createService(t, c, "hoist-speed-death-"+randomHex(), ref+"@"+good.String())
			b := hswarm.New(c)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			if follow {
				go func() { b.Follow(ctx); close(done) }()
				waitFor(t, time.Minute, "the index", func() bool { _, live := b.Current(); return live })
			} else {
				close(done)
			}
			deaths := containerDeaths(t, c, w.ID, target.Image())
			changes := specChanges(t, c, w.ID)
			p := updater.Plan{Written: updater.AllFields, Parallelism: 1, Monitor: time.Second, Watch: 10 * time.Second, Timeout: time.Minute}
			res := b.Update(context.Background(), []updater.Workload{w}, target, p, nil, zerolog.Nop())
			cancel()
			<-done
			if res.Outcome != updater.RolledBack {
				t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
			}
			died := <-deaths
			rolled := awaitImage(t, changes, ref+"@"+good.String())
			lat = append(lat, rolled.Sub(died))
		}
		med, p95 := percentiles(lat)
		mode := "watch polling every 200ms (baseline)"
		if follow {
			mode = "watch woken by the event stream"
		}
		fmt.Printf("SPEED death→rollback  %-38s median %4dms  max %4dms  %v\n", mode, med.Milliseconds(), p95.Milliseconds(), lat)
	}
}

// containerDeaths reports when a container of the service id on image died.
func containerDeaths(t *testing.T, c *client.Client, id, image string) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := make(client.Filters).Add("type", "container").Add("event", "die").Add("label", "com.docker.swarm.service.id="+id)
	res := c.Events(ctx, client.EventsListOptions{Filters: f})
	out := make(chan time.Time, 16)
	go func() {
		for {
			select {
			case m := <-res.Messages:
				if m.Action == events.ActionDie && m.Actor.Attributes["image"] == image {
					out <- time.Unix(0, m.TimeNano)
				}
			case <-res.Err:
				return
			}
		}
	}()
	return out
}
