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
	for {
		svc, err := b.inspect(ctx, id)
		if err == nil {
			st := svc.UpdateStatus
			switch got := specImage(svc.Spec); {
			case got != image:
				last = "the service's spec runs " + got
			case prev != nil && !fresh(st, prev):
				last = "the rollback has not started"
			case st != nil && st.State == swarm.UpdateStateRollbackPaused:
				return fmt.Errorf("Swarm paused the rollback: %s", st.Message)
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
