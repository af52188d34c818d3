package container

import (
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// spec is what it takes to create a container's replacement.
type spec struct {
	config *container.Config
	host   *container.HostConfig
	// primary is the network given at create (API 1.41 takes only one); extra are
	// connected after create and before start.
	primary  string
	endpoint *network.EndpointSettings
	extra    map[string]*network.EndpointSettings
}

// replacement derives the replacement of old on image. Values old got from its image
// (oldImage, may be nil) are dropped so the new image's values apply; everything the
// user set is kept, and anonymous volumes are mounted by name so their data stays.
func replacement(old container.InspectResponse, oldImage *dockerspec.DockerOCIImageConfig, image string, labels map[string]string) spec {
	cfg := *old.Config
	cfg.Image = image
	if oldImage != nil {
		dropImageDefaults(&cfg, oldImage)
	}
	if len(old.ID) >= 12 && cfg.Hostname == old.ID[:12] {
		cfg.Hostname = ""
	}
	if old.HostConfig != nil && old.HostConfig.NetworkMode.IsContainer() {
		// The engine shows the namespace owner's hostname, and refuses one set with it.
		cfg.Hostname, cfg.Domainname = "", ""
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, labels)

	host := *old.HostConfig
	host.Links = normalizeLinks(host.Links)
	mountVolumesByName(old, &cfg, &host)

	s := spec{config: &cfg, host: &host, extra: map[string]*network.EndpointSettings{}}
	mode := string(host.NetworkMode)
	if mode == "" || mode == "default" {
		mode = "bridge"
	}
	if old.NetworkSettings == nil || host.NetworkMode.IsContainer() || mode == "host" || mode == "none" {
		return s
	}
	short := ""
	if len(old.ID) >= 12 {
		short = old.ID[:12]
	}
	for name, ep := range old.NetworkSettings.Networks {
		if ep == nil {
			continue
		}
		e := cleanEndpoint(ep, short)
		if name == mode || (s.primary == "" && ep.NetworkID == mode) {
			s.primary, s.endpoint = name, e
			continue
		}
		s.extra[name] = e
	}
	return s
}

// dropImageDefaults removes from cfg every value equal to the old image's, which the
// engine merged into the inspected config.
func dropImageDefaults(cfg *container.Config, img *dockerspec.DockerOCIImageConfig) {
	imgEnv := map[string]bool{}
	for _, e := range img.Env {
		imgEnv[e] = true
	}
	cfg.Env = slices.DeleteFunc(slices.Clone(cfg.Env), func(e string) bool { return imgEnv[e] })
	if len(cfg.Env) == 0 {
		cfg.Env = nil
	}
	if len(cfg.Labels) > 0 {
		l := map[string]string{}
		for k, v := range cfg.Labels {
			if iv, ok := img.Labels[k]; !ok || iv != v {
				l[k] = v
			}
		}
		cfg.Labels = l
	}
	if img.Healthcheck != nil && cfg.Healthcheck != nil && reflect.DeepEqual(*img.Healthcheck, *cfg.Healthcheck) {
		cfg.Healthcheck = nil
	}
	if slices.Equal(cfg.Entrypoint, img.Entrypoint) {
		cfg.Entrypoint = nil
	}
	if slices.Equal(cfg.Cmd, img.Cmd) {
		cfg.Cmd = nil
	}
	if len(cfg.ExposedPorts) > 0 {
		ports := network.PortSet{}
		for p := range cfg.ExposedPorts {
			if _, ok := img.ExposedPorts[p.String()]; !ok {
				ports[p] = struct{}{}
			}
		}
		cfg.ExposedPorts = ports
	}
	if len(cfg.Volumes) > 0 {
		vols := map[string]struct{}{}
		for v := range cfg.Volumes {
			if _, ok := img.Volumes[v]; !ok {
				vols[v] = struct{}{}
			}
		}
		cfg.Volumes = vols
	}
	if cfg.WorkingDir == img.WorkingDir {
		cfg.WorkingDir = ""
	}
	if cfg.User == img.User {
		cfg.User = ""
	}
	if cfg.StopSignal == img.StopSignal {
		cfg.StopSignal = ""
	}
	if slices.Equal(cfg.Shell, img.Shell) {
		cfg.Shell = nil
	}
	if slices.Equal(cfg.OnBuild, img.OnBuild) {
		cfg.OnBuild = nil
	}
}

// mountVolumesByName makes the replacement mount the very volumes old mounts. Named
// volumes already are; anonymous ones (from the image's VOLUME, -v /path or a --mount
// without source) would be created afresh and empty, so they are mounted by name.
func mountVolumesByName(old container.InspectResponse, cfg *container.Config, host *container.HostConfig) {
	byDest := map[string]container.MountPoint{}
	for _, m := range old.Mounts {
		byDest[path.Clean(m.Destination)] = m
	}
	covered := map[string]bool{}
	var binds []string
	for _, b := range host.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 { // "-v /data": anonymous, mounted by name below
			continue
		}
		covered[path.Clean(parts[1])] = true
		binds = append(binds, b)
	}
	host.Binds = binds
	mounts := slices.Clone(host.Mounts)
	for i, m := range mounts {
		covered[path.Clean(m.Target)] = true
		if m.Type == mount.TypeVolume && m.Source == "" {
			if mp, ok := byDest[path.Clean(m.Target)]; ok {
				mounts[i].Source = mp.Name
			}
		}
	}
	for _, mp := range old.Mounts {
		dest := path.Clean(mp.Destination)
		if mp.Type != mount.TypeVolume || mp.Name == "" || covered[dest] {
			continue
		}
		covered[dest] = true
		m := mount.Mount{Type: mount.TypeVolume, Source: mp.Name, Target: mp.Destination, ReadOnly: !mp.RW}
		if mp.Driver != "" && mp.Driver != "local" {
			m.VolumeOptions = &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: mp.Driver}}
		}
		mounts = append(mounts, m)
	}
	host.Mounts = mounts
	if len(cfg.Volumes) > 0 {
		vols := map[string]struct{}{}
		for v := range cfg.Volumes {
			if !covered[path.Clean(v)] {
				vols[v] = struct{}{}
			}
		}
		cfg.Volumes = vols
	}
}

// cleanEndpoint keeps what the user configured on a network endpoint and drops what
// the engine assigned to the old container.
func cleanEndpoint(ep *network.EndpointSettings, shortID string) *network.EndpointSettings {
	e := &network.EndpointSettings{
		IPAMConfig: ep.IPAMConfig,
		Links:      normalizeLinks(ep.Links),
		DriverOpts: ep.DriverOpts,
	}
	for _, a := range ep.Aliases {
		if a != shortID {
			e.Aliases = append(e.Aliases, a)
		}
	}
	return e
}

// normalizeLinks turns inspected links ("/db:/web/db") back into "db:db".
func normalizeLinks(links []string) []string {
	if len(links) == 0 {
		return nil
	}
	out := make([]string, 0, len(links))
	for _, l := range links {
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			out = append(out, strings.TrimPrefix(l, "/"))
			continue
		}
		out = append(out, strings.TrimPrefix(target, "/")+":"+path.Base(alias))
	}
	return out
}

// publishedPorts lists the host ports a container publishes, "" when none.
func publishedPorts(host *container.HostConfig) []string {
	var out []string
	if host == nil {
		return nil
	}
	if host.PublishAllPorts {
		out = append(out, "all exposed ports")
	}
	for p, bs := range host.PortBindings {
		for _, b := range bs {
			ip := ""
			if b.HostIP.IsValid() {
				ip = b.HostIP.String() + ":"
			}
			port := b.HostPort
			if port == "" || port == "0" {
				port = "(random)"
			}
			out = append(out, ip+port+"->"+p.String())
		}
	}
	slices.Sort(out)
	return out
}
