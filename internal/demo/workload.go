package demo

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// demoLabel marks everything the demo makes on the engine (service, containers,
// images) with the demo's name, so a later run or --clean finds it.
const demoLabel = "hoist.demo"

// demoWorkload is the demo's service or container on the engine.
type demoWorkload interface {
	key() string
	// what says what it is, for the narration.
	what() string
	// create runs image and waits until it is healthy; live shows how far it is.
	create(ctx context.Context, image string, live func(string)) error
	// running counts the replicas that run image and are healthy, and how many there should be.
	running(ctx context.Context, image string) (n, want int, err error)
	// replicas says that n of want run version v.
	replicas(n, want int, v string) string
	// engineSays is the engine's own word on the last update ("" when it has none).
	engineSays(ctx context.Context) string
	// failure describes a replica of image that failed after since ("" when none did).
	failure(ctx context.Context, image string, since time.Time) string
}

// demoService is a Swarm service of 2 replicas on the host network. Both answer on
// one port of 127.0.0.1 (the app sets SO_REUSEPORT), so start-first works. A port
// published in host mode holds one task per node, and the routing mesh (ingress) does
// not work on every kernel.
type demoService struct {
	dc   *client.Client
	name string
	port int
}

func (s *demoService) key() string { return "service/" + s.name }
func (s *demoService) what() string {
	return fmt.Sprintf("Swarm service %s: 2 replicas on the host network", s.name)
}

func (s *demoService) create(ctx context.Context, image string, live func(string)) error {
	host, err := s.dc.NetworkInspect(ctx, "host", client.NetworkInspectOptions{})
	if err != nil {
		return fmt.Errorf("the engine's host network: %w", err)
	}
	replicas := uint64(2)
	labels := map[string]string{demoLabel: s.name}
	_, err = s.dc.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: s.name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:  image,
				Env:    []string{"DEMO_LISTEN=127.0.0.1:" + strconv.Itoa(s.port)},
				Labels: labels,
			},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: host.Network.ID}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}})
	if err != nil {
		return fmt.Errorf("create service %s: %w", s.name, err)
	}
	return demoWait(ctx, 90*time.Second, func() (bool, error) {
		n, want, err := s.running(ctx, image)
		live(fmt.Sprintf("service %s: %d/%d tasks running", s.name, n, want))
		return err == nil && n >= want, err
	}, func() string { return s.failure(ctx, image, time.Time{}) })
}

func (s *demoService) tasks(ctx context.Context) ([]swarm.Task, error) {
	res, err := s.dc.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", s.name)})
	return res.Items, err
}

func (s *demoService) running(ctx context.Context, image string) (int, int, error) {
	ts, err := s.tasks(ctx)
	if err != nil {
		return 0, 2, err
	}
	n := 0
	for _, t := range ts {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning && t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Image == image {
			n++
		}
	}
	return n, 2, nil
}

func (s *demoService) replicas(n, want int, v string) string {
	return fmt.Sprintf("%d/%d tasks run %s", n, want, v)
}

func (s *demoService) engineSays(ctx context.Context) string {
	res, err := s.dc.ServiceInspect(ctx, s.name, client.ServiceInspectOptions{})
	if err != nil || res.Service.UpdateStatus == nil {
		return ""
	}
	u := res.Service.UpdateStatus
	return fmt.Sprintf("Swarm says: %s (%q)", u.State, u.Message)
}

func (s *demoService) failure(ctx context.Context, image string, since time.Time) string {
	ts, err := s.tasks(ctx)
	if err != nil {
		return ""
	}
	var worst *swarm.Task
	for i, t := range ts {
		failed := t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected
		if failed && t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Image == image && t.Status.Timestamp.After(since) &&
			(worst == nil || t.Status.Timestamp.Before(worst.Status.Timestamp)) {
			worst = &ts[i]
		}
	}
	if worst == nil {
		return ""
	}
	why := worst.Status.Err
	if why == "" {
		why = string(worst.Status.State)
	}
	return fmt.Sprintf("task %s.%d failed: %s", s.name, worst.Slot, why)
}

// demoContainer is a standalone container publishing the app on 127.0.0.1. A swap
// of a container that publishes a host port is stop-first: the new one needs the port.
type demoContainer struct {
	dc   *client.Client
	name string
	port int
}

func (c *demoContainer) key() string { return "container/" + c.name }
func (c *demoContainer) what() string {
	return fmt.Sprintf("container %s, publishing 127.0.0.1:%d", c.name, c.port)
}

func (c *demoContainer) create(ctx context.Context, image string, live func(string)) error {
	live("pulling " + image)
	pull, err := c.dc.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	io.Copy(io.Discard, pull)
	if err := pull.Close(); err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	port := network.MustParsePort("8080/tcp")
	cr, err := c.dc.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   c.name,
		Config: &container.Config{Image: image, Labels: map[string]string{demoLabel: c.name}},
		HostConfig: &container.HostConfig{
			PortBindings:  network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(c.port)}}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		},
	})
	if err != nil {
		return fmt.Errorf("create container %s: %w", c.name, err)
	}
	if _, err := c.dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", c.name, err)
	}
	return demoWait(ctx, 60*time.Second, func() (bool, error) {
		n, _, err := c.running(ctx, image)
		live(fmt.Sprintf("container %s: waiting until it is healthy", c.name))
		return err == nil && n == 1, nil
	}, func() string { return c.failure(ctx, image, time.Time{}) })
}

func (c *demoContainer) running(ctx context.Context, image string) (int, int, error) {
	res, err := c.dc.ContainerInspect(ctx, c.name, client.ContainerInspectOptions{})
	if err != nil {
		return 0, 1, nil // between the old one and the new one
	}
	ct := res.Container
	if ct.State != nil && ct.State.Running && ct.Config != nil && ct.Config.Image == image &&
		(ct.State.Health == nil || ct.State.Health.Status == container.Healthy) {
		return 1, 1, nil
	}
	return 0, 1, nil
}

func (c *demoContainer) replicas(n, want int, v string) string {
	return fmt.Sprintf("the new container runs %s and is healthy", v)
}

func (c *demoContainer) engineSays(ctx context.Context) string { return "" }

func (c *demoContainer) failure(ctx context.Context, image string, since time.Time) string {
	res, err := c.dc.ContainerInspect(ctx, c.name, client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil || res.Container.Config == nil || res.Container.Config.Image != image {
		return ""
	}
	st := res.Container.State
	if res.Container.RestartCount > 0 || !st.Running || st.Restarting {
		return fmt.Sprintf("container %s exited (status %d), restarted %d time(s) by its restart policy", c.name, st.ExitCode, res.Container.RestartCount)
	}
	if st.Health != nil && st.Health.Status == container.Unhealthy {
		return fmt.Sprintf("container %s is unhealthy", c.name)
	}
	return ""
}

// demoWait calls done until it says so, the timeout passes (the error then says what
// failed, when why knows) or ctx ends.
func demoWait(ctx context.Context, timeout time.Duration, done func() (bool, error), why func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if w := why(); w != "" {
				return fmt.Errorf("not ready after %s: %s", timeout, w)
			}
			if err != nil {
				return fmt.Errorf("not ready after %s: %w", timeout, err)
			}
			return fmt.Errorf("not ready after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// demoObjects is what the engine holds of a demo.
type demoObjects struct {
	services, containers, images []string
}

func (o demoObjects) empty() bool {
	return len(o.services)+len(o.containers)+len(o.images) == 0
}

func (o demoObjects) String() string {
	return fmt.Sprintf("%d service(s), %d container(s), %d image(s)", len(o.services), len(o.containers), len(o.images))
}

// findDemo lists what carries the demo's label: services (only on a Swarm manager),
// containers (stopped ones too) and images.
func findDemo(ctx context.Context, dc *client.Client, name string, swarmMode bool) (demoObjects, error) {
	var o demoObjects
	f := make(client.Filters).Add("label", demoLabel+"="+name)
	if swarmMode {
		ss, err := dc.ServiceList(ctx, client.ServiceListOptions{Filters: f})
		if err != nil {
			return o, err
		}
		for _, s := range ss.Items {
			o.services = append(o.services, s.Spec.Name)
		}
	}
	cs, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return o, err
	}
	for _, c := range cs.Items {
		o.containers = append(o.containers, c.ID)
	}
	is, err := dc.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	if err != nil {
		return o, err
	}
	for _, i := range is.Items {
		o.images = append(o.images, i.ID)
	}
	return o, nil
}

// removeDemo removes every service, container and image of the demo: services first
// (their tasks go with them), then containers, then images once nothing uses them.
func removeDemo(ctx context.Context, dc *client.Client, name string, swarmMode bool, live func(string)) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		o, err := findDemo(ctx, dc, name, swarmMode)
		if err != nil {
			return err
		}
		if o.empty() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still on the engine after 90s: %s", o)
		}
		live("removing " + o.String())
		for _, s := range o.services {
			dc.ServiceRemove(ctx, s, client.ServiceRemoveOptions{})
		}
		for _, c := range o.containers {
			dc.ContainerRemove(ctx, c, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
		if len(o.services)+len(o.containers) == 0 {
			for _, i := range o.images {
				dc.ImageRemove(ctx, i, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
