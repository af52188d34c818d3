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
// and finish renames the old one <name>-hoist-prev (kept) once the rollout succeeded; a
// compose member's old container is removed instead (compose would count it as one of
// the service's), its replacement naming the old image in LabelPreviousImage. Once the
// replacement holds the name, the containers that shared the old one's network
// namespace are replaced onto the new one (follow.go).
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
	plan       updater.Plan
	level      int // its place in the order of a group (compose's depends_on)
	// follow: a container that shares another's network namespace, recreated on the
	// very image it runs; netMode, when set, is the namespace its replacement joins.
	follow  bool
	netMode container.NetworkMode
	// rollback: a manual rollback onto the previous image (the tag moves back only
	// when no other container runs the image it names, compose.go).
	rollback bool
	// members are swaps of the same rollout whose containers share this one's network
	// namespace: they are made once this one holds the name, onto its replacement.
	members []*swap

	deps       []*swap // the swaps of containers that shared the old one's namespace
	oldStopped bool    // the old container was stopped (its namespace went with it)
	newID      string  // set once the replacement exists
	restarts   int     // the replacement's restart count when it passed the gate
	moved      bool    // old renamed to <name>-hoist-old
	superseded string  // an earlier kept previous, renamed <name>-hoist-superseded
	logs       string  // the failed replacement's last lines
}

func (b *Backend) newSwap(old container.InspectResponse, image string, p updater.Plan, log zerolog.Logger) *swap {
	name := strings.TrimPrefix(old.Name, "/")
	s := &swap{b: b, old: old, name: name, image: image, keep: p.KeepPrevious, watch: p.Watch, probe: p.HTTPProbe, plan: p,
		log: log.With().Str("container", name).Str("old_id", old.ID[:12]).Logger()}
	ports := publishedPorts(old.HostConfig)
	switch {
	case len(ports) > 0:
		s.order = "stop-first: publishes host ports " + strings.Join(ports, ", ")
	case old.HostConfig != nil && old.HostConfig.NetworkMode.IsHost():
		s.order = "stop-first: uses the host network"
	case old.HostConfig != nil && old.HostConfig.NetworkMode.IsContainer():
		// A copy in the same namespace could not bind the ports the old one holds; one
		// moved to a replaced container's namespace has no network left to keep anyway.
		s.order = "stop-first: shares another container's network namespace"
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
		if err := s.b.stop(ctx, s.old.ID); err != nil {
			return err
		}
		s.oldStopped = true
		return s.followers(ctx, gate)
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
	s.oldStopped = true
	s.log.Info().Msg("old container stopped")
	if err := s.startNew(ctx, gate); err != nil {
		return err
	}
	return s.followers(ctx, gate)
}

// supersede moves an earlier kept previous out of the way; it is removed when this
// swap succeeds and comes back when it is reverted.
func (s *swap) supersede(ctx context.Context) error {
	if s.follow {
		return nil // its kept previous, if any, stays its own
	}
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
	labels, drop, err := s.labels(ctx)
	if err != nil {
		return err
	}
	sp := replacement(s.old, img.Config, s.image, labels)
	for _, k := range drop {
		delete(sp.config.Labels, k)
	}
	if s.netMode != "" {
		sp.host.NetworkMode = s.netMode
	}
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
	if composeMember(s.old) {
		return s.b.copyInjected(ctx, s.old, r.ID, s.log)
	}
	return nil
}

// labels are the labels hoist sets on the replacement, and those it must not keep
// from the old container.
func (s *swap) labels(ctx context.Context) (set map[string]string, drop []string, err error) {
	set = map[string]string{LabelSwapOf: s.old.ID, LabelSwapName: s.name, LabelWatch: s.watch.String()}
	if s.follow {
		return set, nil, nil // the same image: what the old one recorded stays true
	}
	expires := s.b.now().Add(s.keep).UTC().Format(time.RFC3339)
	switch {
	case s.keep > 0 && composeMember(s.old):
		set[LabelPreviousImage], set[LabelPreviousExpires] = s.b.previousRef(ctx, s.old), expires
	case s.keep > 0:
		set[LabelPreviousExpires], drop = expires, []string{LabelPreviousImage}
	default:
		drop = []string{LabelPreviousImage, LabelPreviousExpires}
	}
	if _, ok := s.old.Config.Labels[labelComposeImage]; ok {
		// Compose v2 recreates a container whose label differs from the image ID the
		// service's tag names on this engine (hoist moves the tag once it succeeded).
		img, err := s.b.c.ImageInspect(ctx, s.image)
		if err != nil {
			return nil, nil, fmt.Errorf("inspect new image %s: %w", s.image, err)
		}
		set[labelComposeImage] = img.ID
	}
	return set, drop, nil
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
// the replacement, keeping its last log lines; then the containers that shared its
// namespace get theirs back (follow.go). It is safe at any step of the swap.
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
	errs = append(errs, s.revertFollowers(ctx))
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error().Err(err).Msg("reverting failed")
	} else {
		s.log.Info().Msg("old container back")
	}
	return err
}

// finish ends a swap that succeeded: the containers that followed it first, then the
// old container, kept as <name>-hoist-prev (stopped, never restarted by the engine),
// removed when the policy keeps nothing, or removed when compose made it (its
// replacement names the old image instead, and the image stays for a rollback); then
// the previous one it superseded is dropped and the engine's local tag moves to what
// now runs.
func (s *swap) finish(ctx context.Context) error {
	var errs []error
	for _, d := range s.deps {
		errs = append(errs, d.finish(ctx))
	}
	if !s.follow {
		errs = append(errs, s.retag(ctx))
	}
	switch {
	case s.follow:
		errs = append(errs, s.b.remove(ctx, s.old.ID))
	case s.keep > 0 && composeMember(s.old):
		errs = append(errs, s.b.remove(ctx, s.old.ID))
		s.log.Info().Dur("keep", s.keep).Msg("old container removed (compose member); its image is kept for rollback")
	case s.keep > 0:
		errs = append(errs, s.b.setRestart(ctx, s.old.ID, noRestart), s.b.rename(ctx, s.old.ID, s.name+suffixPrev))
		s.log.Info().Dur("keep", s.keep).Msg("old container kept for rollback")
	default:
		errs = append(errs, s.b.discard(ctx, s.old.ID))
		s.log.Info().Msg("old container removed")
	}
	if s.superseded != "" {
		errs = append(errs, s.b.discard(ctx, s.superseded))
	}
	return errors.Join(errs...)
}

// retag moves the local tag to the image the replacement runs (compose.go), once the
// replacement holds the name.
func (s *swap) retag(ctx context.Context) error {
	cur, ok, err := s.b.lookup(ctx, s.name)
	if err != nil || !ok || cur.Config.Labels[LabelSwapOf] != s.old.ID {
		return err
	}
	if s.rollback {
		return s.b.moveTagBack(ctx, s.old, cur)
	}
	return s.b.moveTag(ctx, s.old, cur)
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
