package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/policy"
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
// the containers hoist keeps or parks during a swap.
func (b *Backend) List(ctx context.Context) ([]updater.Workload, error) {
	lctx, cancel := context.WithTimeout(ctx, listBound)
	r, err := b.c.ContainerList(lctx, client.ContainerListOptions{All: true})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	names := map[string]string{} // id → name
	for _, s := range r.Items {
		if len(s.Names) > 0 {
			names[s.ID] = strings.TrimPrefix(s.Names[0], "/")
		}
	}
	var out []updater.Workload
	for _, s := range r.Items {
		name := names[s.ID]
		if name == "" || s.Labels[labelSwarmService] != "" || reserved(name) {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, inspectBound)
		c, err := b.inspect(ictx, s.ID)
		cancel()
		switch {
		case cerrdefs.IsNotFound(err):
			continue // removed since the listing (a short-lived container): not a workload
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			// dockerd holds a container's lock while it stops or kills it: one busy
			// container must not hold up every rollout. The listing says enough.
			b.log.Warn().Str("container", name).Dur("after", inspectBound).Msg("the engine did not answer an inspect of the container (an operation on it in progress?); listed from the summary")
			c.ID, c.Image = s.ID, s.ImageID
			c.Config = &container.Config{Image: s.Image, Labels: s.Labels}
			if strings.HasPrefix(s.Image, "sha256:") {
				continue // its image's name is not in the summary: not followed this time
			}
		case err != nil:
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, inspectBound)
		w := updater.Workload{
			Kind:   policy.Container,
			ID:     c.ID,
			Name:   name,
			Image:  c.Config.Image,
			Labels: c.Config.Labels,
			Digest: b.repoDigest(dctx, c.Image, c.Config.Image),
		}
		cancel()
		if of := c.Config.Labels[LabelSwapOf]; of != "" && names[of] == name+suffixPrev {
			w.HasPrevious = true
		}
		out = append(out, w)
	}
	return out, nil
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

// repoDigest is the registry digest of the image a container runs, taken from the
// image's RepoDigests for the container's repository; "" when unknown.
func (b *Backend) repoDigest(ctx context.Context, imageID, ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
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
		repo, d, ok := strings.Cut(rd, "@")
		if !ok {
			continue
		}
		if rn, err := reference.ParseNormalizedNamed(repo); err == nil && rn.Name() == named.Name() {
			return d
		}
	}
	return ""
}
