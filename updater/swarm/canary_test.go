package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

func TestCanarySpec(t *testing.T) {
	two := uint64(2)
	parent := swarm.Service{ID: "svc1", Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{"com.docker.stack.namespace": "shop", "traefik.enable": "true"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: "reg/web:1@sha256:a", Labels: map[string]string{LabelRollout: "reg/web:1@sha256:a 2026-12-07T00:00:00Z", "x": "y"}},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "net1", Aliases: []string{"www"}}},
			ForceUpdate:   3,
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
		UpdateConfig: &swarm.UpdateConfig{Parallelism: 2},
		EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 8080, PublishedPort: 80, PublishMode: swarm.PortConfigPublishModeIngress}}},
	}}
	s := canarySpec(parent, "reg/web:2@sha256:b", 1)
	if s.Name != "web-hoist-canary" || s.Labels[LabelCanaryOf] != "svc1" || s.Labels[LabelCanaryImage] != "reg/web:2@sha256:b" || s.Labels[policy.LabelPolicy] != "none" || len(s.Labels) != 3 {
		t.Errorf("annotations %+v", s.Annotations)
	}
	cs := s.TaskTemplate.ContainerSpec
	if cs.Image != "reg/web:2@sha256:b" || cs.Labels["x"] != "y" || cs.Labels[LabelRollout] != "" || cs.Labels[LabelCanaryImage] == "" {
		t.Errorf("container spec %+v", cs)
	}
	if parent.Spec.TaskTemplate.ContainerSpec.Image != "reg/web:1@sha256:a" || parent.Spec.TaskTemplate.ContainerSpec.Labels[LabelRollout] == "" {
		t.Error("the parent's spec was changed")
	}
	if rp := s.TaskTemplate.RestartPolicy; rp == nil || rp.Condition != swarm.RestartPolicyConditionNone {
		t.Errorf("restart policy %+v, want none", rp)
	}
	if n := s.TaskTemplate.Networks; len(n) != 1 || strings.Join(n[0].Aliases, ",") != "www,web" || strings.Join(parent.Spec.TaskTemplate.Networks[0].Aliases, ",") != "www" {
		t.Errorf("networks %+v", n)
	}
	if s.Mode.Replicated == nil || *s.Mode.Replicated.Replicas != 1 || s.UpdateConfig != nil || s.TaskTemplate.ForceUpdate != 0 {
		t.Errorf("mode %+v, update config %+v", s.Mode, s.UpdateConfig)
	}
	if p := s.EndpointSpec.Ports; len(p) != 1 || p[0].PublishMode != swarm.PortConfigPublishModeHost || p[0].PublishedPort != 0 || p[0].TargetPort != 8080 {
		t.Errorf("ports %+v, want 8080 in host mode on a port the node picks", p)
	}
	if long := canaryName(strings.Repeat("a", 60)); len(long) != 63 || !strings.HasSuffix(long, canarySuffix) {
		t.Errorf("long name %q", long)
	}
}

func TestCanaryFailed(t *testing.T) {
	marks := func(ps ...updater.Phase) updater.Rollout {
		var r updater.Rollout
		for _, p := range ps {
			r.Enter(p, time.Now())
		}
		return r
	}
	for _, tc := range []struct {
		r    updater.Rollout
		want bool
	}{
		{marks(updater.PhaseSubmitted, updater.PhaseCanary, updater.PhaseRollingBack), true},
		{marks(updater.PhaseSubmitted, updater.PhaseCanary, updater.PhaseRollingBack, updater.PhaseRollingBack), true},
		{marks(updater.PhaseSubmitted, updater.PhaseCanary, updater.PhaseConverging, updater.PhaseRollingBack), false},
		{marks(updater.PhaseSubmitted, updater.PhaseCanary), false},
		{marks(updater.PhaseSubmitted, updater.PhaseRollingBack), false},
	} {
		if got := canaryFailed(tc.r); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.r.Phases, got, tc.want)
		}
	}
}

// A canary service is never a workload of its own: neither the index nor List has it.
func TestCanaryNotIndexed(t *testing.T) {
	one := uint64(1)
	parent := swarm.Service{ID: "svc1", Spec: swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: "web"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "reg/web:1@sha256:a"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}}
	var x index
	x.put(swarm.Service{ID: "c1", Spec: canarySpec(parent, "reg/web:2@sha256:b", 1)})
	if len(x.byID) != 0 {
		t.Errorf("the canary service is indexed: %+v", x.byID)
	}
	x.put(parent)
	if len(x.byID) != 1 {
		t.Errorf("the service is not indexed")
	}
}
