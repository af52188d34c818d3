package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// listBound and inspectBound bound the engine requests of a listing: an engine that does
// not answer makes the listing fail (and be made again), not hang.
var (
	listBound    = 30 * time.Second
	inspectBound = 10 * time.Second
)

// labelSwarmService marks the containers of Swarm tasks; the swarm backend owns them.
const labelSwarmService = "com.docker.swarm.service.id"

// List returns the standalone containers, running or not, leaving out Swarm tasks and
// the containers hoist keeps or parks during a swap. A container under a name hoist
// reserves that no swap explains, that runs, or that compose counts as a member of a
// service is listed with the reason hoist passes over it (Workload.Unmanaged).
//
// It costs one engine request, plus, for each container no listing read before, an
// image inspection for its digest (and a container inspection when the summary names
// its image by ID): what List reads of a container does not change while the container
// exists, and its state comes with the listing.
func (b *Backend) List(ctx context.Context) ([]updater.Workload, error) {
	lctx, cancel := context.WithTimeout(ctx, listBound)
	r, err := b.c.ContainerList(lctx, client.ContainerListOptions{All: true})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	names := map[string]string{} // id → name
	byName := map[string]container.Summary{}
	for _, s := range r.Items {
		if len(s.Names) > 0 {
			names[s.ID] = strings.TrimPrefix(s.Names[0], "/")
			byName[names[s.ID]] = s
		}
	}
	defer b.reads.keepOnly(names)
	var out []updater.Workload
	for _, s := range r.Items {
		name := names[s.ID]
		if name == "" || s.Labels[labelSwarmService] != "" {
			continue
		}
		if reserved(name) {
			if why := passedOver(s, name, byName); why != "" {
				out = append(out, updater.Workload{Kind: policy.Container, ID: s.ID, Name: name, Image: s.Image, Labels: s.Labels, Unmanaged: why})
			}
			continue
		}
		c, digest, ok, err := b.readOf(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		w := updater.Workload{Kind: policy.Container, ID: c.ID, Name: name, Image: c.Config.Image, Labels: c.Config.Labels, Digest: digest}
		w.Compose = composeDrift(c) // composefile.go: the files may change at any time
		if of := c.Config.Labels[LabelSwapOf]; of != "" && names[of] == name+suffixPrev || b.previousOf(c.Config.Labels) != "" {
			w.HasPrevious = true
		}
		out = append(out, w)
	}
	return out, nil
}

// read is what a listing learnt of a container beyond the engine's summary: its
// inspection and the registry digest of its image, neither of which changes while the
// container exists (its state does: it is taken from the summary).
type read struct {
	c      container.InspectResponse
	digest string
}

// reads holds what listings read, by container ID. Its zero value is ready.
type reads struct {
	mu sync.Mutex
	m  map[string]read
}

func (r *reads) get(id string) (read, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd, ok := r.m[id]
	return rd, ok
}

func (r *reads) put(id string, rd read) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]read{}
	}
	r.m[id] = rd
}

// keepOnly forgets the containers a listing no longer showed.
func (r *reads) keepOnly(listed map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.m {
		if _, ok := listed[id]; !ok {
			delete(r.m, id)
		}
	}
}

// readOf is the inspection of the container s (called name), with its state as the
// summary gives it, and its image's digest: read before, or now. ok is false for a
// container not to list this time.
func (b *Backend) readOf(ctx context.Context, s container.Summary, name string) (c container.InspectResponse, digest string, ok bool, err error) {
	rd, known := b.reads.get(s.ID)
	if !known {
		var keep bool
		if rd, keep, err = b.read(ctx, s, name); err != nil || rd.c.Config == nil {
			return c, "", false, err
		}
		if keep {
			b.reads.put(s.ID, rd)
		}
	}
	c = rd.c
	if c.State != nil {
		st := *c.State
		st.Running = s.State == container.StateRunning
		c.State = &st
	}
	return c, rd.digest, true, nil
}

// fromSummary is what List needs of an inspection, from the engine's summary of the
// container: its image reference (the summary's, unless it is an image ID), image ID,
// labels and whether it runs.
func fromSummary(s container.Summary, name string) container.InspectResponse {
	return container.InspectResponse{
		ID: s.ID, Name: "/" + name, Image: s.ImageID,
		State:  &container.State{Running: s.State == container.StateRunning},
		Config: &container.Config{Image: s.Image, Labels: s.Labels},
	}
}

// read takes what List needs of the container s (called name) from its summary, or
// from an inspection when the summary names its image by ID, and finds its image's
// digest. A zero read (no Config) is a container not to list this time; keep is false
// when the digest is not known.
func (b *Backend) read(ctx context.Context, s container.Summary, name string) (rd read, keep bool, err error) {
	var c container.InspectResponse
	if strings.HasPrefix(s.Image, "sha256:") {
		// The engine names the image by its ID when the container's image reference
		// now names another image: only an inspection gives the reference.
		ictx, cancel := context.WithTimeout(ctx, inspectBound)
		c, err = b.inspect(ictx, s.ID)
		cancel()
	} else {
		c = fromSummary(s, name)
	}
	switch {
	case cerrdefs.IsNotFound(err):
		return read{}, false, nil // removed since the listing (a short-lived container): not a workload
	case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// dockerd holds a container's lock while it stops or kills it: one busy
		// container must not hold up every rollout. Its image's name is not in the
		// summary: it is not followed this time.
		b.log.Warn().Str("container", name).Dur("after", inspectBound).Msg("the engine did not answer an inspect of the container (an operation on it in progress?); left out of this listing")
		return read{}, false, nil
	case err != nil:
		return read{}, false, err
	}
	dctx, cancel := context.WithTimeout(ctx, inspectBound)
	defer cancel()
	rd = read{c: c, digest: b.repoDigest(dctx, c.Image, c.Config.Image)}
	return rd, rd.digest != "", nil
}

// reserved reports whether name is one hoist gives containers during a swap.
func reserved(name string) bool {
	for _, s := range append([]string{suffixNext, suffixOld, suffixPrev, suffixSuperseded}, selfSuffixes...) {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// splitReserved cuts a name a swap reserves into its base and hoist's suffix ("" when
// the name is not one a swap gives).
func splitReserved(name string) (base, suffix string) {
	for _, s := range []string{suffixNext, suffixOld, suffixPrev, suffixSuperseded} {
		if b, ok := strings.CutSuffix(name, s); ok {
			return b, s
		}
	}
	return name, ""
}

// passedOver says why hoist does not manage a container under a reserved name, and
// what to do; "" when the name is hoist's own doing (a swap in progress, a previous
// container kept stopped).
func passedOver(s container.Summary, name string, byName map[string]container.Summary) string {
	if why, ok := selfPassedOver(s, name, byName); ok { // hoist's own container (self.go)
		return why
	}
	base, suffix := splitReserved(name)
	cur, hasCur := byName[base]
	linked := hasCur && cur.Labels[LabelSwapOf] == s.ID
	run := s.State == container.StateRunning
	switch {
	case suffix == "",
		suffix == suffixNext && s.Labels[LabelSwapName] == base,
		suffix == suffixOld && (linked || !hasCur),
		suffix == suffixSuperseded && !run:
		return "" // a swap or a rollback in progress, or cut (Recover takes it over)
	case suffix == suffixPrev && run:
		return fmt.Sprintf("%s is a previous container hoist kept for a rollback of %s, and it runs (started by hand or by docker compose): hoist does not manage it; remove it (docker rm -f %s) and let %s run the service", name, base, name, base)
	case suffix == suffixPrev && s.Labels[labelComposeProject] != "":
		return fmt.Sprintf("%s is a previous container an earlier hoist kept with compose's labels: compose counts it as a container of service %s and `docker compose up` may start it in place of %s; remove it (docker rm %s)", name, s.Labels[labelComposeService], base, name)
	case suffix == suffixPrev && linked:
		return ""
	}
	return fmt.Sprintf("%s ends in %s, a name hoist reserves for the containers of a swap, and no swap of %s explains it: hoist does not manage it; rename it or remove it", name, suffix, base)
}

// repoDigest is the registry digest of the image a container runs, taken from the
// image's RepoDigests for the container's repository; "" when unknown.
func (b *Backend) repoDigest(ctx context.Context, imageID, ref string) string {
	if d := registry.DigestOf(ref); d != "" {
		return d
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	img, err := b.c.ImageInspect(ctx, imageID)
	if err != nil {
		return ""
	}
	for _, rd := range img.RepoDigests {
		p, err := registry.ParsePinned(rd)
		if err != nil {
			continue
		}
		if rn, err := reference.ParseNormalizedNamed(p.Name()); err == nil && rn.Name() == named.Name() {
			return p.Digest()
		}
	}
	return ""
}
