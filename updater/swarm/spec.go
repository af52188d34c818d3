package swarm

import (
	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
)

// targetSpec returns a copy of spec that runs image and rolls out as the plan says.
// Swarm rolls back by itself when too many new tasks fail within the monitor window.
func targetSpec(spec swarm.ServiceSpec, image string, p updater.Plan) swarm.ServiceSpec {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Image = image
	spec.TaskTemplate.ContainerSpec = &cs

	order := swarm.UpdateOrderStopFirst
	if p.StartFirst {
		order = swarm.UpdateOrderStartFirst
	}
	par := uint64(1)
	if p.Parallelism > 0 {
		par = uint64(p.Parallelism)
	}
	spec.UpdateConfig = &swarm.UpdateConfig{
		Parallelism:     par,
		Delay:           p.Delay,
		FailureAction:   swarm.UpdateFailureActionRollback,
		Monitor:         p.Monitor,
		MaxFailureRatio: float32(p.MaxFailureRatio),
		Order:           order,
	}
	spec.RollbackConfig = &swarm.UpdateConfig{
		Parallelism: par,
		// A rollback that fails too has nowhere to go: let it carry on.
		FailureAction: swarm.UpdateFailureActionContinue,
		Monitor:       p.Monitor,
		Order:         order,
	}
	return spec
}

// order names the update order a plan asks for.
func order(p updater.Plan) string {
	if p.StartFirst {
		return string(swarm.UpdateOrderStartFirst)
	}
	return string(swarm.UpdateOrderStopFirst)
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
