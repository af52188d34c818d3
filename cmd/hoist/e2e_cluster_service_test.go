//go:build cluster

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// hoistService is hoist running as a Swarm service on a manager, as README's "Running
// hoist in Swarm" describes: the node's Docker socket mounted, the host's network,
// its config a Swarm config, data_dir a local volume.
type hoistService struct {
	c     *cluster
	name  string
	port  int
	token string
}

// staticHoist is cmd/hoist built without cgo (the image has nothing but the binary),
// once per test process (hoistBinary).
func staticHoist(t *testing.T) string {
	t.Helper()
	return hoistBinary(t)
}

// startHoistService runs hoist as a one-replica service on the managers, watching svc.
func (c *cluster) startHoistService(t *testing.T, svc, rollout, health string) *hoistService {
	t.Helper()
	h := &hoistService{c: c, name: "cl-hoist-" + randHex(3), port: 20000 + rand.IntN(20000), token: randHex(16)}
	img := testenv.PushPrivate(t, c.registry+"/cluster/hoist:"+h.name, testenv.BinaryImage(t, staticHoist(t), []string{"/hoist", "serve", "--config", "/etc/hoist/hoist.yaml"}), c.deployUser, c.deploy)
	cfg := fmt.Sprintf("listen: 0.0.0.0:%d\ndata_dir: /data\napi: { token: %s }\nlog: { level: debug, format: json }\n%s",
		h.port, h.token, c.hoistConfig("unix:///var/run/docker.sock", svc, rollout, health))
	dc := c.manager(t)
	ctx := context.Background()
	conf, err := dc.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: h.name}, Data: []byte(cfg)}})
	if err != nil {
		t.Fatal(err)
	}
	one := uint64(1)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: h.name, Labels: map[string]string{"hoist.test": "cluster", "hoist.policy": "none"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: img,
				Env:   []string{"HOIST_CLUSTER_PASSWORD=" + c.pass},
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"},
					{Type: mount.TypeVolume, Source: h.name, Target: "/data"},
				},
				Configs: []*swarm.ConfigReference{{ConfigID: conf.ID, ConfigName: h.name,
					File: &swarm.ConfigReferenceFileTarget{Name: "/etc/hoist/hoist.yaml", UID: "0", GID: "0", Mode: 0o400}}},
			},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "host"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
			Placement:     &swarm.Placement{Constraints: []string{"node.role==manager"}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
	if _, err := dc.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: c.auth(c.deployUser, c.deploy)}); err != nil {
		t.Fatalf("create hoist's service: %v", err)
	}
	t.Cleanup(func() { h.remove(t, conf.ID) })
	return h
}

// remove removes the service, its config and the volume it left on each manager.
func (h *hoistService) remove(t *testing.T, configID string) {
	c, ctx := h.c, context.Background()
	if t.Failed() {
		t.Logf("hoist service tasks:\n%s", describeTasks(taskHistory(t, c.manager(t), h.name), nil))
	}
	c.manager(t).ServiceRemove(ctx, h.name, client.ServiceRemoveOptions{})
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.managers {
		for time.Now().Before(deadline) {
			_, err := c.client(t, n).VolumeRemove(ctx, h.name, client.VolumeRemoveOptions{Force: true})
			if err == nil || !cerrdefs.IsConflict(err) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	c.manager(t).ConfigRemove(ctx, configID, client.ConfigRemoveOptions{})
}

// api waits until the service's task runs on a node other than avoid and answers
// /healthz there, and returns that node's hostname and an API client for it.
func (h *hoistService) api(t *testing.T, avoid string, timeout time.Duration) (string, *hoistProcess) {
	t.Helper()
	var host string
	var p *hoistProcess
	waitFor(t, "hoist's service answering on a manager other than "+avoid, timeout, func() bool {
		nodes := h.c.nodes(t)
		for _, task := range taskHistory(t, h.c.manager(t), h.name) {
			n := nodes[task.NodeID]
			if task.DesiredState != swarm.TaskStateRunning || task.Status.State != swarm.TaskStateRunning || n.Description.Hostname == avoid {
				continue
			}
			url := fmt.Sprintf("http://%s:%d", n.Status.Addr, h.port)
			if resp, err := hoistClient.Get(url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					host, p = n.Description.Hostname, &hoistProcess{URL: url, Token: h.token}
					return true
				}
			}
		}
		return false
	})
	return host, p
}

// setAvailability drains or activates node (a hostname).
func (c *cluster) setAvailability(t *testing.T, host string, a swarm.NodeAvailability) {
	t.Helper()
	for id, n := range c.nodes(t) {
		if n.Description.Hostname != host {
			continue
		}
		n.Spec.Availability = a
		if _, err := c.manager(t).NodeUpdate(context.Background(), id, client.NodeUpdateOptions{Version: n.Version, Spec: n.Spec}); err != nil {
			t.Fatalf("set %s %s: %v", host, a, err)
		}
		return
	}
	t.Fatalf("no node %s", host)
}
