package container

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

const (
	// switchBound is how long the old hoist waits for its switcher to stop it; past it,
	// the switch is called off and the old hoist stays.
	switchBound = 2 * time.Minute
	// selfStopWait is how long the switcher gives a hoist to stop before it is killed.
	selfStopWait = 30 * time.Second
	// selfMinWatch is the shortest watch of a new hoist: one that fails to open its store
	// or its port exits within it.
	selfMinWatch = 10 * time.Second
)

// selfSwap returns the swap of hoist's own container among swaps, nil when none is.
func (b *Backend) selfSwap(swaps []*swap) *swap {
	if b.self == "" {
		return nil
	}
	for _, s := range swaps {
		if s.old.ID == b.self {
			return s
		}
	}
	return nil
}

// updateSelf rolls out a new image of the container hoist runs in. It does the swap up
// to the replacement created under the name (the old container waits as
// <name>-hoist-old, the record is converging) and starts a switcher container from the
// image that runs now. The switcher stops this hoist, starts the new one and watches
// it; whichever hoist runs afterwards reads the switch from the engine and records the
// rollout's end (resumeSelf). This hoist hands the rollout over when the switcher stops
// it; if the switcher ends or hangs first, the switch is called off.
func (b *Backend) updateSelf(ctx, ectx context.Context, swaps []*swap, s *swap, p updater.Plan, res updater.Result, j updater.Journal, log zerolog.Logger) updater.Result {
	if len(swaps) > 1 {
		return updater.Result{Outcome: updater.RefusedOutcome, Reason: "hoist's own container " + s.name +
			" rolls out alone: give it a policy of its own (its hoist.policy label)"}
	}
	s.order = "stop-first: hoist's own container, switched by " + s.name + suffixSwitch
	res.Order = s.order
	err := s.prepareSelf(ectx)
	sw := ""
	if err == nil {
		sw, err = b.startSwitcher(ectx, s, p)
	}
	if err != nil {
		r := b.revertAll(ctx, []*swap{s}, nil, fmt.Errorf("preparing the switch to the new hoist: %w", err), res, j, log)
		r.NotTheImage = true
		return r
	}
	log.Info().Str("switcher", sw[:12]).Msg("the switcher takes over: it stops this hoist, starts the new one and watches it")
	why := b.awaitStop(ctx, ectx, sw)
	if why == "" {
		return handOver("switching to the new hoist", []*swap{s}, res, log)
	}
	gctx, cancel := b.graceCtx(ctx)
	defer cancel()
	logs := b.tailLogs(gctx, sw, false)
	b.stop(gctx, sw)
	if err := b.remove(gctx, sw); err != nil {
		log.Warn().Err(err).Msg("removing the switcher")
	}
	r := b.revertAll(ctx, []*swap{s}, nil, fmt.Errorf("the switcher %s %s", s.name+suffixSwitch, why), res, j, log)
	r.NotTheImage, r.Logs = true, "== "+s.name+suffixSwitch+" ==\n"+logs
	return r
}

// prepareSelf does a stop-first swap of hoist's own container up to the replacement
// created under the name; the old container runs on as <name>-hoist-old.
func (s *swap) prepareSelf(ctx context.Context) error {
	if err := s.supersede(ctx); err != nil {
		return err
	}
	if err := s.b.rename(ctx, s.old.ID, s.name+suffixOld); err != nil {
		return err
	}
	s.moved = true
	return s.create(ctx, s.name)
}

// awaitStop waits for the switcher to stop this hoist (ctx ends): "" then, or else why
// the switch is called off (the switcher ended first, or did nothing in time).
func (b *Backend) awaitStop(ctx, ectx context.Context, sw string) string {
	wait := switchBound
	if dl, ok := ectx.Deadline(); ok {
		wait = min(wait, time.Until(dl)/2)
	}
	bound := time.NewTimer(wait)
	defer bound.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-bound.C:
			return fmt.Sprintf("did not stop this hoist within %s", wait.Round(time.Second))
		case <-time.After(pollEvery):
		}
		c, err := b.inspect(ectx, sw)
		switch {
		case cerrdefs.IsNotFound(err) && ctx.Err() == nil:
			return "is gone"
		case err == nil && c.State != nil && !c.State.Running && c.State.Status != container.StateCreated && ctx.Err() == nil:
			return fmt.Sprintf("ended (exit code %d) before it stopped this hoist", c.State.ExitCode)
		}
	}
}

// startSwitcher creates and starts <name>-hoist-switch: hoist's own binary from the
// image that runs now (known to work), with the old container's engine access (its
// binds, environment, user, groups and network), running `hoist self-switch`. It is
// kept once it exits: its exit code and logs are the verdict.
func (b *Backend) startSwitcher(ctx context.Context, s *swap, p updater.Plan) (string, error) {
	name := s.name + suffixSwitch
	if stale, ok, err := b.lookup(ctx, name); err != nil {
		return "", err
	} else if ok {
		if err := b.remove(ctx, stale.ID); err != nil {
			return "", err
		}
	}
	exe := b.selfExe
	if exe == "" {
		exe = s.old.Path
	}
	cfg := &container.Config{
		Image: s.old.Image, Entrypoint: []string{exe}, Cmd: switchArgs(b.c.DaemonHost(), s, p),
		Env: s.old.Config.Env, User: s.old.Config.User,
		Labels:      map[string]string{LabelSwitchOld: s.old.ID, LabelSwitchNew: s.newID, LabelSwapName: s.name},
		Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
	}
	oh := s.old.HostConfig
	host := &container.HostConfig{NetworkMode: oh.NetworkMode, GroupAdd: oh.GroupAdd, ExtraHosts: oh.ExtraHosts,
		SecurityOpt: oh.SecurityOpt, LogConfig: oh.LogConfig, RestartPolicy: noRestart}
	for _, bind := range oh.Binds {
		if src, _, ok := strings.Cut(bind, ":"); ok && strings.HasPrefix(src, "/") {
			host.Binds = append(host.Binds, bind) // the engine's socket, its certificates
		}
	}
	for _, m := range oh.Mounts {
		if m.Type == mount.TypeBind {
			host.Mounts = append(host.Mounts, m)
		}
	}
	r, err := b.c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	if err != nil {
		return "", fmt.Errorf("create the switcher %s: %w", name, err)
	}
	if err := b.start(ctx, r.ID); err != nil {
		b.remove(ctx, r.ID)
		return "", err
	}
	return r.ID, nil
}

// switchArgs is the switcher's command line.
func switchArgs(dockerHost string, s *swap, p updater.Plan) []string {
	timeout := p.TimeoutOrDefault()
	args := []string{"self-switch", "--docker-host", dockerHost, "--name", s.name, "--old", s.old.ID, "--new", s.newID,
		"--watch", selfWatch(p).String(), "--timeout", timeout.String()}
	if p.HTTPProbe != nil {
		args = append(args, "--probe-port", strconv.Itoa(p.HTTPProbe.Port), "--probe-path", p.HTTPProbe.Path)
	}
	return args
}

// selfWatch is how long the switcher watches a new hoist.
func selfWatch(p updater.Plan) time.Duration {
	return max(p.Watch, p.Monitor, selfMinWatch)
}
