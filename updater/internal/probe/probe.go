// Package probe is the HTTP health probe both backends run against new containers:
// where to send it, and what counts as an answer.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// Timeout bounds one probe request; during a watch the probe runs every Every, and
// Failures in a row fail it (one lost request is not a broken version).
const (
	Timeout  = 2 * time.Second
	Every    = time.Second
	Failures = 3
)

// HostAddr is the loopback address of port when the container publishes it on the
// host, or "". Container IPs are not reachable from every host (rootless or Desktop
// engines, overlay networks), a published port is.
func HostAddr(c container.InspectResponse, port int) string {
	if c.NetworkSettings == nil {
		return ""
	}
	for p, bs := range c.NetworkSettings.Ports {
		if int(p.Num()) != port || p.Proto() != "tcp" {
			continue
		}
		for _, bnd := range bs {
			if bnd.HostPort == "" {
				continue
			}
			ip := "127.0.0.1"
			if bnd.HostIP.IsValid() && !bnd.HostIP.IsUnspecified() {
				ip = bnd.HostIP.String()
			}
			return net.JoinHostPort(ip, bnd.HostPort)
		}
	}
	return ""
}

// LocalAddr is HostAddr, or the host's loopback for a container on the host network,
// or "": the addresses that reach a container from its host whatever the networks.
func LocalAddr(c container.InspectResponse, port int) string {
	if a := HostAddr(c, port); a != "" {
		return a
	}
	if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	return ""
}

// ContainerAddr is LocalAddr, or else port on the container's first network address.
func ContainerAddr(c container.InspectResponse, port int) string {
	if a := LocalAddr(c, port); a != "" {
		return a
	}
	if c.NetworkSettings == nil {
		return ""
	}
	for _, ep := range c.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress.IsValid() {
			return net.JoinHostPort(ep.IPAddress.String(), strconv.Itoa(port))
		}
	}
	return ""
}

// Get asks http://addr/path once. Any 2xx or 3xx answer passes; redirects are not
// followed. The error names the URL and what went wrong.
func Get(ctx context.Context, addr, path string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	url := "http://" + addr + "/" + strings.TrimPrefix(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("http probe %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("http probe %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// AnyAnswers probes addrs, up to Failures rounds Every apart, and returns nil as soon
// as one answers, else the last error: how the running version is checked before a
// rollout, to tell whether the probe can judge at all.
func AnyAnswers(ctx context.Context, addrs []string, path string) error {
	err := errors.New("no address to probe")
	for round := 0; round < Failures; round++ {
		if round > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(Every):
			}
		}
		for _, a := range addrs {
			if err = Get(ctx, a, path); err == nil {
				return nil
			}
		}
	}
	return err
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
}
