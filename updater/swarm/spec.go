package swarm

import (
	"fmt"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
)

// targetSpec returns a copy of spec that runs image and rolls out as the plan says,
// and which update order that is and why. Settings the policy did not write keep the
// service's own value when it has an update config (a stack file's update_config, or
// what docker service create set); a service with none gets the plan's defaults, except
// that start-first becomes stop-first when the service publishes a port in host mode
// (two tasks cannot bind it on one node) or limits its tasks per node (with every
// allowed node full, a new task is never placed and the update never ends). Failure action is always rollback: Swarm
// rolls back by itself when too many new tasks fail within the monitor window.
func targetSpec(spec swarm.ServiceSpec, image string, p updater.Plan) (swarm.ServiceSpec, string) {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Image = image
	spec.TaskTemplate.ContainerSpec = &cs

	own := spec.UpdateConfig != nil
	uc := swarm.UpdateConfig{}
	if own {
		uc = *spec.UpdateConfig
	}
	use := func(f updater.PlanFields) bool { return !own || p.Written.Has(f) }
	if use(updater.FieldParallelism) {
		uc.Parallelism = uint64(max(p.Parallelism, 1))
	}
	if use(updater.FieldDelay) {
		uc.Delay = p.Delay
	}
	if use(updater.FieldMonitor) {
		uc.Monitor = p.Monitor
	}
	if use(updater.FieldMaxFailureRatio) {
		uc.MaxFailureRatio = float32(p.MaxFailureRatio)
	}
	why := "from the policy"
	switch {
	case p.Written.Has(updater.FieldOrder):
		uc.Order = order(p)
	case own:
		why = "the service's own update config"
		if uc.Order == "" {
			uc.Order = swarm.UpdateOrderStopFirst
		}
	case p.StartFirst && hostPublished(spec):
		uc.Order = swarm.UpdateOrderStopFirst
		why = "the service publishes a port in host mode, which two tasks cannot share on one node"
	case p.StartFirst && perNodeLimit(spec) > 0:
		uc.Order = swarm.UpdateOrderStopFirst
		why = fmt.Sprintf("the service allows %d task(s) per node: with every allowed node full, a new task would find no node while the old ones run", perNodeLimit(spec))
	default:
		uc.Order = order(p)
		why = "hoist's default"
	}
	uc.FailureAction = swarm.UpdateFailureActionRollback
	spec.UpdateConfig = &uc

	// The rollback runs like the update, unless the service has its own rollback config.
	// A rollback that fails too has nowhere to go: let it carry on.
	rc := swarm.UpdateConfig{Parallelism: uc.Parallelism, Monitor: uc.Monitor, Order: uc.Order}
	if spec.RollbackConfig != nil {
		rc = *spec.RollbackConfig
	}
	rc.FailureAction = swarm.UpdateFailureActionContinue
	spec.RollbackConfig = &rc
	return spec, string(uc.Order) + " (" + why + ")"
}

// hostPublished reports whether spec publishes a port in host mode.
func hostPublished(spec swarm.ServiceSpec) bool {
	if spec.EndpointSpec == nil {
		return false
	}
	for _, pc := range spec.EndpointSpec.Ports {
		if pc.PublishMode == swarm.PortConfigPublishModeHost && pc.PublishedPort > 0 {
			return true
		}
	}
	return false
}

// perNodeLimit is the service's max_replicas_per_node, 0 when it has none.
func perNodeLimit(spec swarm.ServiceSpec) uint64 {
	if spec.TaskTemplate.Placement == nil {
		return 0
	}
	return spec.TaskTemplate.Placement.MaxReplicas
}

// order names the update order a plan asks for.
func order(p updater.Plan) swarm.UpdateOrder {
	if p.StartFirst {
		return swarm.UpdateOrderStartFirst
	}
	return swarm.UpdateOrderStopFirst
}

// replicas is the replica count of a replicated service; ok is false for other modes.
func replicas(spec swarm.ServiceSpec) (n uint64, ok bool) {
	if spec.Mode.Replicated == nil {
		return 0, false
	}
	if spec.Mode.Replicated.Replicas == nil {
		return 1, true
	}
	return *spec.Mode.Replicated.Replicas, true
}
