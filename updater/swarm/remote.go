package swarm

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// remoteAddr is the address that reaches a task running on another node: that node's
// address and the port the task publishes there in host mode for port. It is "" when
// the task publishes no such port or the node's address is unknown.
func (r *rollout) remoteAddr(t swarm.Task, port int) string {
	published, ok := hostPort(t, port)
	if !ok {
		return ""
	}
	host := r.nodeAddr(t.NodeID)
	if host == "" {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(int(published)))
}

// hostPort is the port a task publishes in host mode on its node for its TCP port.
func hostPort(t swarm.Task, port int) (uint32, bool) {
	for _, pc := range t.Status.PortStatus.Ports {
		if int(pc.TargetPort) == port && pc.PublishMode == swarm.PortConfigPublishModeHost && pc.PublishedPort > 0 &&
			(pc.Protocol == "" || pc.Protocol == network.TCP) {
			return pc.PublishedPort, true
		}
	}
	return 0, false
}

// nodeAddr is the address a node advertises to the Swarm, remembered for the rollout.
func (r *rollout) nodeAddr(id string) string {
	if a, ok := r.nodeAddrs[id]; ok {
		return a
	}
	ctx, cancel := context.WithTimeout(r.work, r.b.call)
	defer cancel()
	res, err := r.b.c.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return "" // asked again at the next look
	}
	a := usableAddr(res.Node)
	if r.nodeAddrs == nil {
		r.nodeAddrs = map[string]string{}
	}
	r.nodeAddrs[id] = a
	return a
}

// usableAddr is a node's address, or its manager address's host when the node reports
// an unspecified one (0.0.0.0, as some managers do); "" when it has neither.
func usableAddr(n swarm.Node) string {
	if ip, err := netip.ParseAddr(n.Status.Addr); err == nil && !ip.IsUnspecified() {
		return ip.String()
	}
	if n.ManagerStatus != nil {
		if host, _, err := net.SplitHostPort(n.ManagerStatus.Addr); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
				return ip.String()
			}
		}
	}
	return ""
}
