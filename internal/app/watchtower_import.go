package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
)

// ReadWatchtower reads a Watchtower setup from the engine at dockerHost ("": the
// usual one): the container named ref (or the one Watchtower container there), its
// image, environment and arguments, and the registries of the containers it watches
// (for REPO_USER/REPO_PASS), for config.FromWatchtower.
func ReadWatchtower(ctx context.Context, dockerHost, ref string) (config.WatchtowerSetup, error) {
	dc, err := ConnectDocker(ctx, config.Docker{Host: dockerHost})
	if err != nil {
		return config.WatchtowerSetup{}, err
	}
	defer dc.Close()
	wt, err := findWatchtower(ctx, dc, ref)
	if err != nil {
		return config.WatchtowerSetup{}, err
	}
	setup := config.WatchtowerSetup{Container: strings.TrimPrefix(wt.Name, "/"), Image: wt.Config.Image,
		Env: envMap(wt.Config.Env), Args: wt.Config.Cmd}
	if setup.Hosts, err = watchedHosts(ctx, dc, wt.ID, setup.Env); err != nil {
		return config.WatchtowerSetup{}, err
	}
	return setup, nil
}

// findWatchtower inspects the named container, or finds the one Watchtower container.
func findWatchtower(ctx context.Context, dc *client.Client, ref string) (container.InspectResponse, error) {
	if ref == "" {
		list, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true})
		if err != nil {
			return container.InspectResponse{}, fmt.Errorf("list containers: %w", err)
		}
		var found []string
		for _, c := range list.Items {
			if strings.Contains(strings.ToLower(c.Image), "watchtower") || c.Labels[policy.WatchtowerMarker] == "true" {
				found = append(found, c.ID)
			}
		}
		switch len(found) {
		case 0:
			return container.InspectResponse{}, errors.New("no Watchtower container on this engine (no image named *watchtower*, no label com.centurylinklabs.watchtower=true); name it with --container")
		case 1:
			ref = found[0]
		default:
			names := make([]string, len(found))
			for i, id := range found {
				names[i] = containerName(list.Items, id)
			}
			return container.InspectResponse{}, fmt.Errorf("%d Watchtower containers (%s): choose one with --container", len(found), strings.Join(names, ", "))
		}
	}
	r, err := dc.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspect container %s: %w", ref, err)
	}
	return r.Container, nil
}

func containerName(items []container.Summary, id string) string {
	for _, c := range items {
		if c.ID == id && len(c.Names) > 0 {
			return strings.TrimPrefix(c.Names[0], "/")
		}
	}
	return id[:12]
}

// watchedHosts lists the registry hosts of the containers Watchtower would have
// watched (with label-enable, those labelled enable=true), for REPO_USER/REPO_PASS.
func watchedHosts(ctx context.Context, dc *client.Client, self string, env map[string]string) ([]string, error) {
	if env["REPO_USER"] == "" {
		return nil, nil
	}
	list, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	labelEnable := strings.EqualFold(env["WATCHTOWER_LABEL_ENABLE"], "true")
	seen := map[string]bool{}
	for _, c := range list.Items {
		if c.ID == self || (labelEnable && c.Labels[policy.WatchtowerEnable] != "true") {
			continue
		}
		if ref, err := name.ParseReference(c.Image); err == nil && !strings.HasPrefix(c.Image, "sha256:") {
			seen[ref.Context().RegistryStr()] = true
		}
	}
	var hosts []string
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts, nil
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
