package container

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A healthy upgrade keeps everything the user set and follows the new image otherwise.
func TestUpdateKeepsSettings(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	for _, n := range []string{"-net1", "-net2"} {
		if _, err := e.c.NetworkCreate(e.ctx, e.prefix+n, client.NetworkCreateOptions{Driver: "bridge"}); err != nil {
			t.Fatal(err)
		}
	}
	vol := e.prefix + "-vol"
	port := freePort(t)
	old := e.run("", v1.Tag.String(),
		&container.Config{
			Env:    []string{"FOO=bar"},
			User:   "1000:1000",
			Labels: map[string]string{"com.example.team": "core", "com.docker.compose.project": "demo", "com.docker.compose.service": "web"},
		},
		&container.HostConfig{
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/tmp"}},
			PortBindings:  loopbackPort(port),
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3},
			Resources:     container.Resources{Memory: 64 << 20},
			LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "2"}},
			NetworkMode:   container.NetworkMode(e.prefix + "-net1"),
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{e.prefix + "-net1": {Aliases: []string{"web-alias"}}}})
	if _, err := e.c.NetworkConnect(e.ctx, e.prefix+"-net2", client.NetworkConnectOptions{Container: old.ID, EndpointConfig: &network.EndpointSettings{Aliases: []string{"web-two"}}}); err != nil {
		t.Fatal(err)
	}
	httpDo(t, http.MethodPost, port, "/file?path=/data/anon&data=anonymous-data")
	httpDo(t, http.MethodPost, port, "/file?path=/tmp/named&data=named-data")
	old = e.inspect(old.ID)

	ws, err := e.b.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var w updater.Workload
	for _, x := range ws {
		if x.ID == old.ID {
			w = x
		}
	}
	if w.ID == "" || w.Name != e.prefix || w.Image != v1.Tag.String() || w.HasPrevious {
		t.Fatalf("List: got %+v", w)
	}

	r := e.b.Update(e.ctx, []updater.Workload{w}, v2, plan(), nil, e.log)
	must(t, r, updater.Succeeded)
	if !strings.HasPrefix(r.Order, "stop-first") {
		t.Errorf("order %q, want stop-first (publishes a host port)", r.Order)
	}
	names := e.names()
	nw := e.inspect(names[e.prefix])
	if nw.ID == old.ID {
		t.Fatal("container was not replaced")
	}
	// A compose member keeps no previous container (compose would count it as one of
	// the service's): its replacement names the previous image.
	if len(names) != 1 {
		t.Errorf("containers after the rollout: %v, want only the replacement", names)
	}
	if want := v1.Tag.String() + "@" + v1.Digest.String(); nw.Config.Labels[LabelPreviousImage] != want {
		t.Errorf("%s = %q, want %q", LabelPreviousImage, nw.Config.Labels[LabelPreviousImage], want)
	}
	cfg, host := nw.Config, nw.HostConfig
	if cfg.Image != v2.Image() {
		t.Errorf("image %q, want %q", cfg.Image, v2.Image())
	}
	for _, env := range []string{"FOO=bar", "APP_VERSION=v2"} {
		if !slices.Contains(cfg.Env, env) {
			t.Errorf("env %v lacks %s", cfg.Env, env)
		}
	}
	if slices.Contains(cfg.Env, "APP_VERSION=v1") {
		t.Errorf("env %v keeps the old image's APP_VERSION", cfg.Env)
	}
	for k, v := range map[string]string{"com.example.team": "core", "com.docker.compose.project": "demo", "com.docker.compose.service": "web", "org.example.version": "v2"} {
		if cfg.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, cfg.Labels[k], v)
		}
	}
	lr, err := e.c.ContainerList(e.ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", "com.docker.compose.project=demo").Add("name", e.prefix)})
	if err != nil || len(lr.Items) != 1 || lr.Items[0].ID != nw.ID {
		t.Errorf("compose label filter: %v %+v", err, lr.Items)
	}
	if cfg.User != "1000:1000" {
		t.Errorf("user %q", cfg.User)
	}
	if cfg.Hostname == old.Config.Hostname {
		t.Errorf("hostname %q kept from the old container", cfg.Hostname)
	}
	if host.RestartPolicy.Name != container.RestartPolicyOnFailure || host.RestartPolicy.MaximumRetryCount != 3 {
		t.Errorf("restart policy %+v", host.RestartPolicy)
	}
	if host.Memory != 64<<20 {
		t.Errorf("memory %d", host.Memory)
	}
	if host.LogConfig.Type != "json-file" || host.LogConfig.Config["max-size"] != "1m" || host.LogConfig.Config["max-file"] != "2" {
		t.Errorf("log config %+v", host.LogConfig)
	}
	if got := hostPort(t, nw); got != port {
		t.Errorf("published port %s, want %s", got, port)
	}
	if got := httpDo(t, http.MethodGet, port, "/version"); got != "v2" {
		t.Errorf("/version = %q", got)
	}
	if got := httpDo(t, http.MethodGet, port, "/file?path=/data/anon"); got != "anonymous-data" {
		t.Errorf("anonymous volume: %q", got)
	}
	if got := httpDo(t, http.MethodGet, port, "/file?path=/tmp/named"); got != "named-data" {
		t.Errorf("named volume: %q", got)
	}
	for n, alias := range map[string]string{e.prefix + "-net1": "web-alias", e.prefix + "-net2": "web-two"} {
		ep := nw.NetworkSettings.Networks[n]
		if ep == nil || !slices.Contains(ep.Aliases, alias) {
			t.Errorf("network %s: endpoint %+v lacks alias %s", n, ep, alias)
			continue
		}
		if slices.Contains(ep.Aliases, old.ID[:12]) {
			t.Errorf("network %s keeps the old short-ID alias: %v", n, ep.Aliases)
		}
	}

	ws, err = e.b.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ws {
		if strings.HasPrefix(x.Name, e.prefix) && x.Name != e.prefix {
			t.Errorf("List shows hoist's own container %s", x.Name)
		}
		if x.Name == e.prefix && (!x.HasPrevious || x.Digest != v2.Digest.String()) {
			t.Errorf("List: %+v, want HasPrevious and digest %s", x, v2.Digest)
		}
	}
}

// start-first keeps a healthy container under the name (or the temporary one) throughout.
func TestUpdateStartFirstNoGap(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, nil, nil)

	var samples, zero atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			r, err := e.c.ContainerList(e.ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("name", e.prefix).Add("health", "healthy")})
			if err != nil {
				continue
			}
			samples.Add(1)
			if len(r.Items) == 0 {
				zero.Add(1)
			}
		}
	})
	p := plan()
	p.HTTPProbe = nil
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, v2, p, nil, e.log)
	close(stop)
	wg.Wait()
	must(t, r, updater.Succeeded)
	if !strings.HasPrefix(r.Order, "start-first") {
		t.Errorf("order %q, want start-first", r.Order)
	}
	if samples.Load() < 10 || zero.Load() > 0 {
		t.Errorf("%d of %d samples saw no healthy container", zero.Load(), samples.Load())
	}
	if nw := e.inspect(e.prefix); nw.ID == old.ID || nw.Config.Image != v2.Image() {
		t.Errorf("not replaced: %s %s", nw.ID, nw.Config.Image)
	}
}

// A container with an address given by hand cannot have a copy running beside it: the
// swap goes stop-first even when the policy asks for start-first, and keeps the address.
func TestUpdateStaticIPStopFirst(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	var b [1]byte
	rand.Read(b[:])
	subnet := netip.MustParsePrefix(fmt.Sprintf("10.213.%d.0/24", b[0]))
	ip := subnet.Addr().Next().Next().Next() // .3
	netName := e.prefix + "-net"
	if _, err := e.c.NetworkCreate(e.ctx, netName, client.NetworkCreateOptions{Driver: "bridge",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}}}); err != nil {
		testenv.Missing(t, fmt.Sprintf("a bridge network on %s: %v", subnet, err))
	}
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{NetworkMode: container.NetworkMode(netName)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}}}})

	p := plan()
	p.StartFirst = true
	p.Watch = time.Second
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, v2, p, nil, e.log)
	must(t, r, updater.Succeeded)
	if !strings.HasPrefix(r.Order, "stop-first") {
		t.Errorf("order %q, want stop-first (fixed address)", r.Order)
	}
	nw := e.inspect(e.prefix)
	if nw.ID == old.ID || nw.Config.Image != v2.Image() || !running(nw) {
		t.Fatalf("not replaced: %.12s %s running=%v", nw.ID, nw.Config.Image, running(nw))
	}
	if ep := nw.NetworkSettings.Networks[netName]; ep == nil || ep.IPAddress != ip {
		t.Errorf("address on %s: %+v, want %s", netName, ep, ip)
	}
}
