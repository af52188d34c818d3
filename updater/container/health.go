package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/probe"
)

// UnhealthyError says why a container failed its health gate or watch.
type UnhealthyError struct {
	Container string
	Reason    string
}

func (e *UnhealthyError) Error() string { return e.Container + ": " + e.Reason }

// hasHealthcheck reports whether the container runs a HEALTHCHECK (its own or its image's).
func hasHealthcheck(c container.InspectResponse) bool {
	hc := c.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return c.State != nil && c.State.Health != nil
	}
	return true
}

// judge looks at one inspection: done is true once the container passed (healthy, or
// running without a healthcheck); err is set when it failed.
func judge(c container.InspectResponse, restarts int) (done bool, err error) {
	name := strings.TrimPrefix(c.Name, "/")
	st := c.State
	switch {
	case st == nil:
		return false, &UnhealthyError{name, "no state"}
	case c.RestartCount > restarts:
		return false, &UnhealthyError{name, fmt.Sprintf("restarted (%d restarts, exit code %d)", c.RestartCount, st.ExitCode)}
	case st.Restarting:
		return false, &UnhealthyError{name, fmt.Sprintf("restarting (exit code %d)", st.ExitCode)}
	case !st.Running:
		return false, &UnhealthyError{name, fmt.Sprintf("%s (exit code %d)", st.Status, st.ExitCode)}
	case st.Health != nil && st.Health.Status == container.Unhealthy:
		return false, &UnhealthyError{name, "unhealthy: " + lastProbe(st.Health)}
	case hasHealthcheck(c):
		return st.Health != nil && st.Health.Status == container.Healthy, nil
	}
	return true, nil
}

func lastProbe(h *container.Health) string {
	if len(h.Log) == 0 {
		return "no healthcheck output"
	}
	l := h.Log[len(h.Log)-1]
	return fmt.Sprintf("exit %d: %s", l.ExitCode, strings.TrimSpace(l.Output))
}

// waitHealthy waits until id is healthy (or running, without a healthcheck) and its
// HTTP probe answers, or fails. It returns the restart count to watch from.
func (b *Backend) waitHealthy(ctx context.Context, id string, probe *updater.HTTPProbe) (int, error) {
	restarts := -1
	for {
		c, err := b.inspect(ctx, id)
		if err != nil && !cerrdefs.IsNotFound(err) && ctx.Err() == nil {
			// The engine does not answer (dockerd restarting): ask again.
			b.log.Warn().Err(err).Msg("waiting for health: the engine does not answer")
			if err := sleep(ctx, pollEvery); err == nil {
				continue
			}
		}
		if err != nil {
			return 0, err
		}
		if restarts < 0 {
			restarts = c.RestartCount
		}
		done, err := judge(c, restarts)
		if err != nil {
			return 0, err
		}
		if done && (probe == nil || b.probe(ctx, c, probe) == nil) {
			return restarts, nil
		}
		every := pollEvery
		if probe == nil {
			every = b.ev.every(pollEvery) // no HTTP probe to ask: events say the rest
		}
		if err := b.ev.sleep(ctx, every, id); err != nil { // woken by its events (wake.go)
			perr := ""
			if done && probe != nil {
				perr = ": " + b.probe(ctx, c, probe).Error()
			}
			return 0, fmt.Errorf("%s not healthy in time%s: %w", strings.TrimPrefix(c.Name, "/"), perr, err)
		}
	}
}

// watch keeps checking the containers (id → restart count) for d: any exit, restart
// or unhealthy status fails, and so do probe.Failures HTTP probes in a row.
func (b *Backend) watch(ctx context.Context, ids map[string]int, d time.Duration, p *updater.HTTPProbe) error {
	end := time.Now().Add(d)
	fails := map[string]int{}
	var probed time.Time
	for {
		probeNow := p != nil && time.Since(probed) >= probe.Every
		if probeNow {
			probed = time.Now()
		}
		for id, restarts := range ids {
			c, err := b.inspect(ctx, id)
			if cerrdefs.IsNotFound(err) {
				return err
			}
			if err != nil {
				// The engine does not answer (dockerd restarting): judge the container
				// once it does, within the watch's own bound.
				b.log.Warn().Err(err).Msg("watching: the engine does not answer")
				probeNow = false
				continue
			}
			if _, err := judge(c, restarts); err != nil {
				return err
			}
			if !probeNow {
				continue
			}
			if err := b.probe(ctx, c, p); err != nil {
				if fails[id]++; fails[id] >= probe.Failures {
					return &UnhealthyError{strings.TrimPrefix(c.Name, "/"), fmt.Sprintf("%v (%d times in a row)", err, fails[id])}
				}
			} else {
				fails[id] = 0
			}
		}
		if !time.Now().Before(end) {
			return nil
		}
		every := b.ev.every(pollEvery)
		if p != nil {
			every = min(every, probe.Every)
		}
		if err := b.ev.sleep(ctx, min(every, time.Until(end)), slices.Collect(maps.Keys(ids))...); err != nil {
			return fmt.Errorf("watch cut short: %w", err)
		}
	}
}

// probe GETs the HTTP probe: on the published loopback port when the container
// publishes the probe port on the host, else on the container's IP.
func (b *Backend) probe(ctx context.Context, c container.InspectResponse, p *updater.HTTPProbe) error {
	addr := probe.ContainerAddr(c, p.Port)
	if addr == "" {
		return fmt.Errorf("http probe: no address for port %d", p.Port)
	}
	return probe.Get(ctx, addr, p.Path)
}

// tailLogs returns the last lines a container wrote, for the rollout record.
func (b *Backend) tailLogs(ctx context.Context, id string, tty bool) string {
	rc, err := b.c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(logTail)})
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	defer rc.Close()
	var buf bytes.Buffer
	if tty {
		_, err = buf.ReadFrom(rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil && buf.Len() == 0 {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return buf.String()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// inspect wraps ContainerInspect with context.
func (b *Backend) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	r, err := b.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return r.Container, nil
}

var errNoPrevious = errors.New("no previous container kept")
