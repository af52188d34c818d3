package swarm

import (
	"context"
	"fmt"
	"net"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/probe"
)

// prober runs the policy's HTTP probe against a service's new tasks while hoist watches
// them. A task is reached on its host-mode published port or the host network when it
// runs on this engine's node, on its node's address and host-mode published port when
// it runs on another node; other tasks through the routing mesh when the service
// publishes the port in ingress mode. Overlay addresses are not reachable from a host,
// so hoist does not guess with them.
type prober struct {
	p      *updater.HTTPProbe
	fails  map[string]int  // address → failures in a row
	passed map[string]bool // address → answered at least once
	last   map[string]error
	// skipped says why no task could be probed, once known.
	skipped string
}

func newProber(p *updater.HTTPProbe) *prober {
	if p == nil {
		return nil
	}
	return &prober{p: p, fails: map[string]int{}, passed: map[string]bool{}, last: map[string]error{}}
}

// addrs returns the addresses that reach the running tasks on image.
func (r *rollout) probeAddrs(svc swarm.Service, ts []swarm.Task, image string) []string {
	port := r.probe.p.Port
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	mesh := ""
	for _, ep := range svc.Endpoint.Ports {
		if int(ep.TargetPort) == port && (ep.Protocol == "" || ep.Protocol == network.TCP) && ep.PublishMode != swarm.PortConfigPublishModeHost && ep.PublishedPort > 0 {
			mesh = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ep.PublishedPort)))
		}
	}
	for _, t := range ts {
		if t.DesiredState != swarm.TaskStateRunning || t.Status.State != swarm.TaskStateRunning || taskImage(t) != image {
			continue
		}
		a := ""
		if cs := t.Status.ContainerStatus; cs != nil && cs.ContainerID != "" {
			ctx, cancel := context.WithTimeout(r.work, r.b.call)
			res, err := r.b.c.ContainerInspect(ctx, cs.ContainerID, client.ContainerInspectOptions{})
			cancel()
			switch {
			case err == nil:
				a = probe.LocalAddr(res.Container, port)
			case cerrdefs.IsNotFound(err): // a task on another node is not on this engine
				a = r.remoteAddr(t, port)
			}
		}
		if a == "" {
			a = mesh
		}
		add(a)
	}
	return out
}

// check probes every address once. It returns a reason when an address failed
// probe.Failures times in a row, and whether each address has answered at least once.
func (pr *prober) check(ctx context.Context, addrs []string) (failed string, allPassed bool) {
	allPassed = true
	for _, a := range addrs {
		if err := probe.Get(ctx, a, pr.p.Path); err != nil {
			pr.fails[a]++
			pr.last[a] = err
			if pr.fails[a] >= probe.Failures {
				return fmt.Sprintf("%v (%d times in a row)", err, pr.fails[a]), false
			}
		} else {
			pr.fails[a] = 0
			pr.passed[a] = true
		}
		if !pr.passed[a] {
			allPassed = false
		}
	}
	return "", allPassed
}

// pending says which address has not answered yet and why, for timeout reasons.
func (pr *prober) pending(addrs []string) string {
	for _, a := range addrs {
		if !pr.passed[a] {
			if err := pr.last[a]; err != nil {
				return err.Error()
			}
			return "http probe of " + a + " not answered yet"
		}
	}
	return ""
}

// baseline probes the tasks running the current image before the update. A probe that
// fails against every one of them cannot tell a good image from a bad one (hoist cannot
// reach the port, or the path is wrong): it is not used for this rollout.
func (r *rollout) baseline(svc swarm.Service) {
	if r.probe == nil {
		return
	}
	ts, err := r.b.tasks(r.work, r.id)
	if err != nil {
		return
	}
	addrs := r.probeAddrs(svc, ts, r.old)
	if len(addrs) == 0 {
		return // nothing reachable now; the watch says so if that stays true
	}
	last := probe.AnyAnswers(r.work, addrs, r.probe.p.Path)
	if last == nil {
		return
	}
	r.probeNote = fmt.Sprintf("HTTP probe not used: it fails against the running version too (%v)", last)
	r.log.Warn().Msg(r.probeNote)
	r.probe = nil
}
