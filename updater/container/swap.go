package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// swap replaces one container by a copy on a new image. Its steps leave names and
// labels in the engine that Recover understands at any point:
//
//	start-first: create <name>-hoist-next → start → healthy → rename old to <name>-hoist-old
//	             → rename new to <name> → stop old
//	stop-first:  rename old to <name>-hoist-old → create <name> → stop old → start → healthy
//
// and finish renames the old one <name>-hoist-prev (kept) once the rollout succeeded.
type swap struct {
	b          *Backend
	log        zerolog.Logger
	old        container.InspectResponse
	name       string
	image      string
	startFirst bool
	order      string
	keep       time.Duration
	watch      time.Duration
	probe      *updater.HTTPProbe

	newID      string // set once the replacement exists
	restarts   int    // the replacement's restart count when it passed the gate
	moved      bool   // old renamed to <name>-hoist-old
	superseded string // an earlier kept previous, renamed <name>-hoist-superseded
	logs       string // the failed replacement's last lines
}

func (b *Backend) newSwap(old container.InspectResponse, image string, p updater.Plan, log zerolog.Logger) *swap {
	name := strings.TrimPrefix(old.Name, "/")
	s := &swap{b: b, old: old, name: name, image: image, keep: p.KeepPrevious, watch: p.Watch, probe: p.HTTPProbe,
		log: log.With().Str("container", name).Str("old_id", old.ID[:12]).Logger()}
	ports := publishedPorts(old.HostConfig)
	switch {
	case len(ports) > 0:
		s.order = "stop-first: publishes host ports " + strings.Join(ports, ", ")
	case old.HostConfig != nil && old.HostConfig.NetworkMode.IsHost():
		s.order = "stop-first: uses the host network"
	case staticIP(old) != "":
		// Two containers cannot hold one address: the copy would fail to start.
		s.order = "stop-first: has the fixed address " + staticIP(old)
	case !p.StartFirst:
		s.order = "stop-first: the policy asks for it"
	default:
		s.startFirst, s.order = true, "start-first: publishes no host ports"
	}
	return s
}

// replace runs the swap up to a healthy replacement holding the name. Engine calls use
// ctx and are never cut short; waiting for health uses gate, which shutdown or the
// rollout timeout cancel. On error the caller reverts.
func (s *swap) replace(ctx, gate context.Context) error {
	s.log.Info().Str("order", s.order).Msg("replacing container")
	if err := s.supersede(ctx); err != nil {
		return err
	}
	if s.startFirst {
		if err := s.create(ctx, s.name+suffixNext); err != nil {
			return err
		}
		if err := s.startNew(ctx, gate); err != nil {
			return err
		}
		if err := s.b.rename(ctx, s.old.ID, s.name+suffixOld); err != nil {
			return err
		}
		s.moved = true
		if err := s.b.rename(ctx, s.newID, s.name); err != nil {
			return err
		}
		s.log.Info().Msg("replacement took the name; stopping old container")
		return s.b.stop(ctx, s.old.ID)
	}
	if err := s.b.rename(ctx, s.old.ID, s.name+suffixOld); err != nil {
		return err
	}
	s.moved = true
	if err := s.create(ctx, s.name); err != nil {
		return err
	}
	if err := s.b.stop(ctx, s.old.ID); err != nil {
		return err
	}
	s.log.Info().Msg("old container stopped")
	return s.startNew(ctx, gate)
}

// supersede moves an earlier kept previous out of the way; it is removed when this
// swap succeeds and comes back when it is reverted.
func (s *swap) supersede(ctx context.Context) error {
	prev, ok, err := s.b.lookup(ctx, s.name+suffixPrev)
	if err != nil || !ok {
		return err
	}
	if stale, ok, err := s.b.lookup(ctx, s.name+suffixSuperseded); err != nil {
		return err
	} else if ok {
		if err := s.b.remove(ctx, stale.ID); err != nil {
			return err
		}
	}
	if err := s.b.rename(ctx, prev.ID, s.name+suffixSuperseded); err != nil {
		return err
	}
	s.superseded = prev.ID
	return nil
}

// create creates the replacement under name and connects its extra networks.
func (s *swap) create(ctx context.Context, name string) error {
	if stale, ok, err := s.b.lookup(ctx, name); err != nil {
		return err
	} else if ok && stale.Config.Labels[LabelSwapName] == s.name {
		if err := s.b.remove(ctx, stale.ID); err != nil { // left by an interrupted swap
			return err
		}
	}
	img, err := s.b.c.ImageInspect(ctx, s.old.Image)
	if err != nil {
		return fmt.Errorf("inspect old image %s: %w", s.old.Image, err)
	}
	labels := map[string]string{LabelSwapOf: s.old.ID, LabelSwapName: s.name, LabelWatch: s.watch.String()}
	if s.keep > 0 {
		labels[LabelPreviousExpires] = s.b.now().Add(s.keep).UTC().Format(time.RFC3339)
	}
	sp := replacement(s.old, img.Config, s.image, labels)
	opts := client.ContainerCreateOptions{Name: name, Config: sp.config, HostConfig: sp.host}
	if sp.primary != "" {
		opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{sp.primary: sp.endpoint}}
	}
	r, err := s.b.c.ContainerCreate(ctx, opts)
	if err != nil {
		return fmt.Errorf("create replacement of %s: %w", s.name, err)
	}
	s.newID = r.ID
	s.log = s.log.With().Str("new_id", r.ID[:12]).Logger()
	s.log.Info().Str("name", name).Msg("replacement created")
	for net, ep := range sp.extra {
		if _, err := s.b.c.NetworkConnect(ctx, net, client.NetworkConnectOptions{Container: r.ID, EndpointConfig: ep}); err != nil {
			return fmt.Errorf("connect replacement of %s to network %s: %w", s.name, net, err)
		}
	}
	return nil
}

// startNew starts the replacement and waits for its health gate.
func (s *swap) startNew(ctx, gate context.Context) error {
	if err := s.b.start(ctx, s.newID); err != nil {
		return err
	}
	s.log.Info().Msg("replacement started; waiting for health")
	restarts, err := s.b.waitHealthy(gate, s.newID, s.probe)
	if err != nil {
		return err
	}
	s.restarts = restarts
	s.log.Info().Msg("replacement healthy")
	return nil
}

// revert brings the old container back as it was (same ID, name, running) and removes
// the replacement, keeping its last log lines. It is safe at any step of the swap.
func (s *swap) revert(ctx context.Context) error {
	var errs []error
	if s.newID != "" {
		if s.logs == "" {
			s.logs = s.b.tailLogs(ctx, s.newID, s.old.Config.Tty)
		}
		if err := s.b.discard(ctx, s.newID); err != nil {
			errs = append(errs, err)
		} else {
			s.log.Info().Msg("replacement removed")
			s.newID = "" // revert may run again after a failure: each step once
		}
	}
	if s.moved {
		if err := s.b.rename(ctx, s.old.ID, s.name); err != nil {
			errs = append(errs, err)
		} else {
			s.moved = false
		}
	}
	if c, err := s.b.inspect(ctx, s.old.ID); err != nil {
		errs = append(errs, err)
	} else if !running(c) && running(s.old) {
		errs = append(errs, s.b.start(ctx, s.old.ID))
	}
	if s.superseded != "" {
		if err := s.b.rename(ctx, s.superseded, s.name+suffixPrev); err != nil {
			errs = append(errs, err)
		} else {
			s.superseded = ""
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error().Err(err).Msg("reverting failed")
	} else {
		s.log.Info().Msg("old container back")
	}
	return err
}

// finish keeps the old container as <name>-hoist-prev (stopped, never restarted by the
// engine) or removes it, and drops the previous one it superseded.
func (s *swap) finish(ctx context.Context) error {
	var errs []error
	if s.keep > 0 {
		errs = append(errs, s.b.setRestart(ctx, s.old.ID, noRestart), s.b.rename(ctx, s.old.ID, s.name+suffixPrev))
		s.log.Info().Dur("keep", s.keep).Msg("old container kept for rollback")
	} else {
		errs = append(errs, s.b.discard(ctx, s.old.ID))
		s.log.Info().Msg("old container removed")
	}
	if s.superseded != "" {
		errs = append(errs, s.b.discard(ctx, s.superseded))
	}
	return errors.Join(errs...)
}

// staticIP is the first address a container was given by hand (--ip, --ip6) on one of
// its networks, "" when the engine chose them all.
func staticIP(c container.InspectResponse) string {
	if c.NetworkSettings == nil {
		return ""
	}
	for name, ep := range c.NetworkSettings.Networks {
		if ep == nil || ep.IPAMConfig == nil {
			continue
		}
		for _, a := range []netip.Addr{ep.IPAMConfig.IPv4Address, ep.IPAMConfig.IPv6Address} {
			if a.IsValid() {
				return a.String() + " on " + name
			}
		}
	}
	return ""
}
