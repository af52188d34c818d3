package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// tasks lists every task Swarm still remembers for a service, history included.
func (b *Backend) tasks(ctx context.Context, serviceID string) ([]swarm.Task, error) {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", serviceID)})
	if err != nil {
		return nil, fmt.Errorf("list tasks of service %s: %w", serviceID, err)
	}
	return res.Items, nil
}

// convergence says whether a service's tasks all run image, as many as it wants.
type convergence struct {
	want    int // tasks Swarm wants running
	running int // of those, running image
	other   int // of those, on another image
}

func (c convergence) done() bool { return c.other == 0 && c.running == c.want }

func (c convergence) String() string {
	s := fmt.Sprintf("%d/%d tasks running", c.running, c.want)
	if c.other > 0 {
		s += fmt.Sprintf(", %d on another image", c.other)
	}
	return s
}

// converged counts a service's tasks against image. A replicated service wants its
// replica count; a global one wants a task on every eligible node, which is the number
// of tasks Swarm wants running.
func converged(spec swarm.ServiceSpec, tasks []swarm.Task, image string) convergence {
	var c convergence
	active := 0
	for _, t := range tasks {
		if t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		active++
		switch {
		case taskImage(t) != image:
			c.other++
		case t.Status.State == swarm.TaskStateRunning:
			c.running++
		}
	}
	if n, ok := replicas(spec); ok {
		c.want = int(n)
	} else {
		c.want = active
	}
	return c
}

func taskImage(t swarm.Task) string {
	if t.Spec.ContainerSpec == nil {
		return ""
	}
	return t.Spec.ContainerSpec.Image
}

// awaitConverged waits until the service's spec and all its wanted tasks run image,
// and no update or rollback is still under way. When prev is not nil, the update
// status must also be newer than prev: the one of a rollback hoist just asked for.
func (b *Backend) awaitConverged(ctx context.Context, id, image string, prev *swarm.UpdateStatus, deadline time.Time) error {
	var last string
	resumed := 0
	var paused *swarm.UpdateStatus // the status resume replaced
	for {
		svc, err := b.inspect(ctx, id)
		if err == nil {
			st := svc.UpdateStatus
			switch got := specImage(svc.Spec); {
			case got != image:
				last = "the service's spec runs " + got
			case prev != nil && !fresh(st, prev):
				last = "the rollback has not started"
			case paused != nil && st != nil && !fresh(st, paused):
				// Still the paused status; the resumed update shows a newer one, or
				// none when no task needed replacing.
			case st != nil && (st.State == swarm.UpdateStateRollbackPaused || st.State == swarm.UpdateStatePaused):
				// The spec already runs image, but Swarm stopped replacing the tasks
				// (a task failed while FailureAction is pause, the default for
				// rollbacks): some may still run the other image. Get it going again.
				if resumed >= maxResumes {
					return fmt.Errorf("Swarm paused again after %d resumes: %s", resumed, st.Message)
				}
				resumed++
				if err = b.resume(ctx, id); err == nil {
					paused, last = st, "resumed the paused "+string(st.State)+" ("+st.Message+")"
				}
			case st != nil && (st.State == swarm.UpdateStateUpdating || st.State == swarm.UpdateStateRollbackStarted):
				last = "Swarm update " + string(st.State)
			default:
				var ts []swarm.Task
				if ts, err = b.tasks(ctx, id); err != nil {
					break
				}
				c := converged(svc.Spec, ts, image)
				if c.done() {
					return nil
				}
				last = c.String()
			}
		}
		if err != nil {
			last = err.Error()
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("not converged in time: %s", last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not converged (%s): %w", last, ctx.Err())
		case <-time.After(b.poll):
		}
	}
}

// maxResumes bounds how often awaitConverged gets a paused update going again.
const maxResumes = 3

// resume sends a paused service's spec back with FailureAction continue for both its
// update and rollback configs: a new update starts and replaces the tasks still on
// another image, carrying on past failures instead of pausing again.
func (b *Backend) resume(ctx context.Context, id string) error {
	_, _, err := b.update(ctx, id, "", func(s swarm.Service) (swarm.ServiceSpec, bool) {
		st := s.UpdateStatus
		if st == nil || (st.State != swarm.UpdateStatePaused && st.State != swarm.UpdateStateRollbackPaused) {
			return swarm.ServiceSpec{}, false
		}
		return continueOnFailure(s.Spec), true
	})
	return err
}

// continueOnFailure returns spec with FailureAction continue in its update and rollback
// configs: for an update that restores an image, where pausing helps no one.
func continueOnFailure(spec swarm.ServiceSpec) swarm.ServiceSpec {
	for _, c := range []**swarm.UpdateConfig{&spec.UpdateConfig, &spec.RollbackConfig} {
		uc := swarm.UpdateConfig{Parallelism: 1}
		if *c != nil {
			uc = **c
		}
		uc.FailureAction = swarm.UpdateFailureActionContinue
		*c = &uc
	}
	return spec
}
