package swarm

import (
	"testing"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
)

func TestHostPort(t *testing.T) {
	task := func(ports ...swarm.PortConfig) swarm.Task {
		return swarm.Task{Status: swarm.TaskStatus{PortStatus: swarm.PortStatus{Ports: ports}}}
	}
	host := swarm.PortConfigPublishModeHost
	for _, tc := range []struct {
		name string
		task swarm.Task
		want uint32
	}{
		{"none published", task(), 0},
		{"host mode", task(swarm.PortConfig{TargetPort: 8080, PublishedPort: 31000, PublishMode: host}), 31000},
		{"host mode, tcp named", task(swarm.PortConfig{TargetPort: 8080, PublishedPort: 31000, PublishMode: host, Protocol: network.TCP}), 31000},
		{"udp only", task(swarm.PortConfig{TargetPort: 8080, PublishedPort: 31000, PublishMode: host, Protocol: network.UDP}), 0},
		{"another port", task(swarm.PortConfig{TargetPort: 9090, PublishedPort: 31000, PublishMode: host}), 0},
		{"ingress mode", task(swarm.PortConfig{TargetPort: 8080, PublishedPort: 31000, PublishMode: swarm.PortConfigPublishModeIngress}), 0},
	} {
		got, ok := hostPort(tc.task, 8080)
		if got != tc.want || ok != (tc.want != 0) {
			t.Errorf("%s: %d %v, want %d", tc.name, got, ok, tc.want)
		}
	}
}

func TestUsableAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		node swarm.Node
		want string
	}{
		{"worker", swarm.Node{Status: swarm.NodeStatus{Addr: "10.0.0.14"}}, "10.0.0.14"},
		{"manager reporting 0.0.0.0", swarm.Node{Status: swarm.NodeStatus{Addr: "0.0.0.0"}, ManagerStatus: &swarm.ManagerStatus{Addr: "10.0.0.11:2377"}}, "10.0.0.11"},
		{"nothing usable", swarm.Node{Status: swarm.NodeStatus{Addr: "0.0.0.0"}}, ""},
		{"no address", swarm.Node{}, ""},
	} {
		if got := usableAddr(tc.node); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
