package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// hoist in a container updates its own container too. It cannot judge its replacement
// from inside the container it stops, so a one-shot switcher container, made from the
// image that runs now, stops the old hoist, starts the new one and watches it, and
// brings the old one back when it fails. The new hoist (or the old one, back) takes the
// rollout over from the store. The names it leaves say where the switch is:
const (
	// suffixSwitch is the switcher container of a self-update; it is kept, stopped,
	// until a hoist has read its verdict (its exit code and logs).
	suffixSwitch = "-hoist-switch"
	// suffixFailed is a new hoist the switcher stopped because it failed; it is kept
	// for its logs until the old hoist, back, records the rollback.
	suffixFailed = "-hoist-failed"
)

// Labels on a switcher container.
const (
	// LabelSwitchOld holds the ID of the old hoist container the switcher replaces.
	LabelSwitchOld = "hoist.switch.old"
	// LabelSwitchNew holds the ID of the new hoist container it starts and watches.
	LabelSwitchNew = "hoist.switch.new"
)

// selfSuffixes are the names a self-update reserves besides a swap's.
var selfSuffixes = []string{suffixSwitch, suffixFailed}

// WithSelf tells the backend the ID of the container hoist itself runs in ("" when it
// runs outside a container of this engine) and the path of its binary in there: a
// rollout of that container goes through a switcher container.
func WithSelf(id, exe string) Option {
	return func(b *Backend) { b.self, b.selfExe = id, exe }
}

// containerIDIn finds a container ID in /proc/self/mountinfo: the engine bind-mounts
// /etc/hostname, /etc/hosts and /etc/resolv.conf from the container's own directory.
var containerIDIn = regexp.MustCompile(`/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)`)

// Self finds the container this process runs in on the engine c talks to: its ID from
// the mounts the engine made (or the hostname, which the engine sets to the short ID
// when the container has its own network namespace), confirmed by inspecting it. It
// returns "" when hoist does not run in a container of this engine.
func Self(ctx context.Context, c *client.Client, log zerolog.Logger) string {
	var candidates []string
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := containerIDIn.FindStringSubmatch(sc.Text()); m != nil {
				candidates = append(candidates, m[1])
				break
			}
		}
		f.Close()
	}
	if h, err := os.Hostname(); err == nil && len(h) == 12 && strings.Trim(h, "0123456789abcdef") == "" {
		candidates = append(candidates, h)
	}
	for _, id := range candidates {
		r, err := c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || !strings.HasPrefix(r.Container.ID, id) || r.Container.State == nil || !r.Container.State.Running {
			continue
		}
		log.Info().Str("container", strings.TrimPrefix(r.Container.Name, "/")).Str("id", r.Container.ID[:12]).
			Msg("hoist runs in a container of this engine: a new image of it is rolled out through a switcher container")
		return r.Container.ID
	}
	return ""
}

// Executable is the path of hoist's binary as its container sees it ("" if unknown).
func Executable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

// ErrSelfRollback says a manual rollback was asked of the container hoist runs in: it
// would stop hoist half-way through.
var ErrSelfRollback = errors.New("hoist cannot roll back the container it runs in (it would stop itself half-way)")

// refuseSelf refuses a manual action on hoist's own container that stops it.
func (b *Backend) refuseSelf(ctx context.Context, w updater.Workload) error {
	if b.self == "" {
		return nil
	}
	id := w.ID
	if id == "" {
		id = w.Name
	}
	c, err := b.inspect(ctx, id)
	if err != nil || c.ID != b.self {
		return nil // Rollback itself reports what is wrong
	}
	name := strings.TrimPrefix(c.Name, "/")
	return fmt.Errorf("%w; with docker: docker rename %s %s-bad && docker rename %s%s %s && docker update --restart unless-stopped %s && docker stop %s-bad && docker start %s",
		ErrSelfRollback, name, name, name, suffixPrev, name, name, name, name)
}

// selfPassedOver is passedOver for the names a switch of hoist's own container gives:
// ok is false for any other name; why is "" while the switch explains the container
// (in progress, or its verdict waiting for the hoist that runs next).
func selfPassedOver(s container.Summary, name string, byName map[string]container.Summary) (why string, ok bool) {
	for _, suf := range selfSuffixes {
		base, found := strings.CutSuffix(name, suf)
		if !found {
			continue
		}
		cur := byName[base].ID
		ours := s.Labels[LabelSwapName] == base
		switch {
		case suf == suffixSwitch && ours && cur != "" && (cur == s.Labels[LabelSwitchNew] || cur == s.Labels[LabelSwitchOld]):
			return "", true
		case suf == suffixFailed && ours && s.State != container.StateRunning && cur != "" && cur == s.Labels[LabelSwapOf]:
			return "", true
		case suf == suffixFailed:
			return fmt.Sprintf("%s is a new hoist its switcher stopped because it failed, and no switch of %s explains it now: remove it (docker rm -f %s)", name, base, name), true
		}
		return fmt.Sprintf("%s ends in %s, a name hoist reserves for switching its own container, and no switch of %s explains it: remove it (docker rm -f %s)", name, suf, base, name), true
	}
	return "", false
}
