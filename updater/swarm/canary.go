package swarm

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
)

// A policy's canary runs in a temporary service of its own, "<service>-hoist-canary":
// the canary tasks run the new digest beside the service's tasks, which all keep the
// old one. The service itself is changed once, when the hold passed — so its spec
// (docker service inspect) always says what its tasks run, and its PreviousSpec
// (docker service rollback) stays the image before. The canary service carries the
// labels below; a restarted hoist finds it by name and takes up its hold.
const (
	// LabelCanaryOf, on a canary service, is the ID of the service it is the canary of.
	LabelCanaryOf = "hoist.canary.of"
	// LabelCanaryImage, on a canary service and its containers, is the image it tries.
	LabelCanaryImage = "hoist.canary.image"
)

// canarySuffix ends a canary service's name.
const canarySuffix = "-hoist-canary"

// canaryName is the name of the canary service of the service named name (Swarm allows
// 63 characters).
func canaryName(name string) string {
	if len(name)+len(canarySuffix) > 63 {
		name = name[:63-len(canarySuffix)]
	}
	return name + canarySuffix
}

// isCanary reports whether a service is a canary hoist runs for another.
func isCanary(spec swarm.ServiceSpec) bool {
	_, ok := spec.Labels[LabelCanaryOf]
	return ok
}

// canarySpec is the spec of the canary service of parent: n tasks of its task template
// on image, judged on their first life (no restart), reachable under the parent's name
// on its networks, and publishing its ports in host mode on a port each node picks
// (the parent holds the published ones) so the HTTP probe reaches them. It takes no
// service labels from the parent (a proxy reading them would route to it twice, a
// stack would count it as its own) and no update config (it is never updated).
func canarySpec(parent swarm.Service, image string, n uint64) swarm.ServiceSpec {
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{
		Name: canaryName(parent.Spec.Name),
		Labels: map[string]string{
			LabelCanaryOf: parent.ID, LabelCanaryImage: image,
			policy.LabelPolicy: "none", // never a workload of its own
		},
	}}
	tt := parent.Spec.TaskTemplate
	cs := *tt.ContainerSpec
	cs.Image = image
	cs.Labels = maps.Clone(cs.Labels)
	if cs.Labels == nil {
		cs.Labels = map[string]string{}
	}
	delete(cs.Labels, LabelRollout)
	cs.Labels[LabelCanaryImage] = image
	tt.ContainerSpec = &cs
	tt.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}
	tt.ForceUpdate = 0
	tt.Networks = withAlias(tt.Networks, parent.Spec.Name)
	spec.TaskTemplate = tt
	spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
	if ep := parent.Spec.EndpointSpec; ep != nil {
		out := &swarm.EndpointSpec{Mode: ep.Mode}
		for _, pc := range ep.Ports {
			pc.PublishMode, pc.PublishedPort = swarm.PortConfigPublishModeHost, 0
			out.Ports = append(out.Ports, pc)
		}
		spec.EndpointSpec = out
	}
	return spec
}

// withAlias copies network attachments, each with alias added.
func withAlias(nets []swarm.NetworkAttachmentConfig, alias string) []swarm.NetworkAttachmentConfig {
	out := make([]swarm.NetworkAttachmentConfig, 0, len(nets))
	for _, n := range nets {
		n.Aliases = append(append([]string{}, n.Aliases...), alias)
		out = append(out, n)
	}
	return out
}

// findCanary returns the canary service of the service named name, if there is one.
func (b *Backend) findCanary(ctx context.Context, name string) (swarm.Service, bool, error) {
	svc, err := b.inspect(ctx, canaryName(name))
	switch {
	case cerrdefs.IsNotFound(err):
		return swarm.Service{}, false, nil
	case err != nil:
		return swarm.Service{}, false, err
	case !isCanary(svc.Spec):
		return swarm.Service{}, false, fmt.Errorf("service %s is not one of hoist's canaries (it has no %s label); rename it", svc.Spec.Name, LabelCanaryOf)
	}
	return svc, true, nil
}

// dropCanary removes the canary service of the service named name, if there is one, and
// waits (at most a minute) until none of its tasks runs any more.
func (b *Backend) dropCanary(ctx context.Context, name string, log zerolog.Logger) error {
	svc, found, err := b.findCanary(ctx, name)
	if err != nil || !found {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, b.call)
	_, err = b.c.ServiceRemove(rctx, svc.ID, client.ServiceRemoveOptions{})
	cancel()
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove canary service %s: %w", svc.Spec.Name, err)
	}
	log.Info().Str("canary", svc.Spec.Name).Msg("canary service removed")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ts, err := b.tasks(ctx, svc.ID)
		switch {
		case err == nil && !anyLive(ts):
			return nil
		case cerrdefs.IsNotFound(err) && !b.runsHere(ctx, svc.ID):
			return nil // Swarm forgot the service; none of its containers runs on this node
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.poll):
		}
	}
	return fmt.Errorf("canary service %s removed, but a task of it still runs after a minute", svc.Spec.Name)
}

// runsHere reports whether a container of the service runs on this engine's node (or
// whether the engine does not say).
func (b *Backend) runsHere(ctx context.Context, serviceID string) bool {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("label", "com.docker.swarm.service.id="+serviceID)})
	return err != nil || len(res.Items) > 0
}

// anyLive reports whether a task has not reached a final state: it runs, or may yet.
func anyLive(ts []swarm.Task) bool {
	for _, t := range ts {
		switch t.Status.State {
		case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
			swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		default:
			return true
		}
	}
	return false
}

// nodeName is a node's hostname, or its ID when it cannot be read.
func (b *Backend) nodeName(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil || res.Node.Description.Hostname == "" {
		if len(id) > 12 {
			id = id[:12]
		}
		return id
	}
	return res.Node.Description.Hostname
}

// nodesOf names the nodes tasks run on: "node-3", "node-1, node-4".
func (b *Backend) nodesOf(ctx context.Context, ts []swarm.Task) string {
	var names []string
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.NodeID] {
			seen[t.NodeID] = true
			names = append(names, b.nodeName(ctx, t.NodeID))
		}
	}
	return strings.Join(names, ", ")
}

// wanted is how many tasks a service wants: its replicas, or for a global service the
// tasks Swarm wants running now.
func wanted(spec swarm.ServiceSpec, ts []swarm.Task) int {
	if n, ok := replicas(spec); ok {
		return int(n)
	}
	n := 0
	for _, t := range ts {
		if t.DesiredState == swarm.TaskStateRunning {
			n++
		}
	}
	return n
}
