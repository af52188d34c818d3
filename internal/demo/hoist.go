package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/updater"
)

// demoPolicy is the demo's policy: short monitor and watch so the story moves, and
// start-first so the service keeps answering.
const demoPolicy = `policies:
  - name: demo
    match: { services: [%q], containers: [%q] }
    update: digest
    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 2s, keep_previous: 1h }
    health: { watch: %s, timeout: 3m }
    when: { approve: %t }
`

// demoWatch is the policy's health.watch: long enough to see v3 crash after Swarm
// says its update completed.
const demoWatch = 10 * time.Second

// demoHoist is hoist serve running in the demo's process.
type demoHoist struct {
	api     *apiclient.Client
	cfgPath string
	// stop cancels serve and waits up to wait for it to return.
	stop func(wait time.Duration) error
}

// errStillStopping means serve had not returned when stop stopped waiting.
var errStillStopping = errors.New("hoist is still finishing a rollout")

// writeDemoConfig writes the demo's hoist.yaml, so hoist's CLI (approve, history)
// works against the demo while it runs and after --keep.
func (d *demoRun) writeDemoConfig(approve bool) (*config.Config, error) {
	body := fmt.Sprintf(`# Written by hoist demo. While the demo runs, hoist's commands work against it:
#   hoist history --config %[1]s
listen: %[2]s
data_dir: %[3]s
docker: { host: %[4]q }
api: { token: %[5]s }
webhooks:
  distribution: { token: %[6]s }
poll: { interval: 0 }   # the registry's webhooks say when a tag moved
log: { level: info, format: json }
`, d.cfgPath(), d.apiAddr, filepath.Join(d.dir, "data"), d.dockerHost, d.apiToken, d.hookToken) +
		fmt.Sprintf(demoPolicy, d.opt.Name, d.opt.Name, demoWatch, approve)
	if err := os.WriteFile(d.cfgPath(), []byte(body), 0o600); err != nil {
		return nil, err
	}
	return config.Parse(d.cfgPath(), []byte(body), func(string) string { return "" })
}

func (d *demoRun) cfgPath() string { return filepath.Join(d.dir, "hoist.yaml") }

// startHoist runs serve with the demo's config (approve: the policy holds each new
// digest for approval) until the returned stop, and waits until it answers.
func (d *demoRun) startHoist(ctx context.Context, approve bool) (*demoHoist, error) {
	cfg, err := d.writeDemoConfig(approve)
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(d.dir, "hoist.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	// hoist reads the file again when told to reload (step 3 changes its policy so).
	path := d.cfgPath()
	opts := app.Options{File: path, Version: "demo", Log: app.NewLogger(cfg.Log, logf),
		Load: func(ctx context.Context) (*config.Config, error) {
			return config.LoadFile(ctx, path, func(string) string { return "" }, config.Limits{})
		}}
	go func() { done <- app.Serve(sctx, cfg, opts) }()
	var result error
	returned := false
	h := &demoHoist{api: apiclient.New("http://"+d.apiAddr, d.apiToken, 5*time.Second), cfgPath: d.cfgPath()}
	h.stop = func(wait time.Duration) error {
		cancel()
		if returned {
			return result
		}
		select {
		case result = <-done:
			returned = true
			logf.Close()
			return result
		case <-time.After(wait):
			return errStillStopping
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !h.api.Healthy(ctx) {
		select {
		case err := <-done:
			logf.Close()
			cancel()
			return nil, fmt.Errorf("hoist serve: %w", err)
		case <-ctx.Done():
			h.stop(time.Minute)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.stop(time.Minute)
			return nil, fmt.Errorf("hoist did not answer on %s within 20s (its log: %s)", d.apiAddr, logf.Name())
		}
	}
	return h, nil
}

// reloadHoist rewrites the demo's hoist.yaml with when.approve and has the running
// hoist reload it (SIGHUP, as kill -HUP would), then waits until its API says the
// reload succeeded. It returns how long that took.
func (d *demoRun) reloadHoist(ctx context.Context) (time.Duration, error) {
	if _, err := d.writeDemoConfig(true); err != nil {
		return 0, fmt.Errorf("demo config: %w", err)
	}
	start := time.Now()
	self, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = self.Signal(syscall.SIGHUP)
	}
	if err != nil {
		return 0, fmt.Errorf("send SIGHUP: %w", err)
	}
	var st api.ConfigStatus
	err = demoWait(ctx, 10*time.Second, func() (bool, error) {
		var err error
		st, err = d.hoist.api.ConfigStatus(ctx)
		return err == nil && st.LastReload != nil && !st.LastReload.At.Before(start), nil
	}, func() string { return "hoist reported no reload" })
	if err != nil {
		return 0, fmt.Errorf("reload: %w", err)
	}
	if r := st.LastReload; !r.Success {
		return 0, fmt.Errorf("hoist refused the edited hoist.yaml: %s", r.Error)
	}
	return time.Since(start), nil
}

// approvePath is the approval the demo shows (the digest cut, so it reads).
func approvePath(key, digest string) string {
	return "/api/v1/workloads/" + key + "/approve?digest=" + digest
}

// newest returns the workload's newest record; ok is false when there is none.
func newest(ctx context.Context, c *apiclient.Client, key string) (r updater.Rollout, ok bool, err error) {
	rs, err := c.Rollouts(ctx, key, 1)
	if err != nil || len(rs) == 0 {
		return updater.Rollout{}, false, err
	}
	return rs[0], true, nil
}

// randToken is a random secret of 32 hex digits.
func randToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
