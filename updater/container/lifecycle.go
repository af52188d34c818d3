package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// Lifecycle is a Backend that also honours Watchtower's lifecycle and depends-on labels
// for the containers whose policy says so: a container's pre-update command runs inside
// it before it is replaced (exit 75, or any failure, skips it this time), its
// post-update command runs inside the replacement once the rollout succeeded, and the
// running containers whose depends-on label names a replaced one are restarted after
// it, in the order of their dependencies. Everything else is the Backend's.
type Lifecycle struct {
	*Backend
	honours func(name string, labels map[string]string) *policy.Watchtower
}

// The updater finds what the Backend offers besides Update on the wrapper too.
var (
	_ updater.Backend    = (*Lifecycle)(nil)
	_ updater.Resumer    = (*Lifecycle)(nil)
	_ updater.Progresser = (*Lifecycle)(nil)
)

// WithWatchtower wraps b. honours returns how the policy governing a container reads
// Watchtower's labels, nil when it does not.
func WithWatchtower(b *Backend, honours func(name string, labels map[string]string) *policy.Watchtower) *Lifecycle {
	return &Lifecycle{Backend: b, honours: honours}
}

// Update runs the pre-update commands, the Backend's Update for the containers they let
// through, then the post-update commands and the restarts of dependents.
func (l *Lifecycle) Update(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	var run []updater.Workload
	var skipped []string
	for _, w := range ws {
		wt := l.honours(w.Name, w.Labels)
		h, ok := policy.PreUpdate(w.Labels)
		if wt == nil || !wt.LifecycleHooks || !ok || w.Digest == t.Digest.String() {
			run = append(run, w)
			continue
		}
		if why := l.preUpdate(ctx, w, h, log); why != "" {
			skipped = append(skipped, w.Name+" ("+why+")")
			continue
		}
		run = append(run, w)
	}
	if len(run) == 0 {
		return updater.Result{Outcome: updater.Skipped, Reason: "not replaced: " + strings.Join(skipped, ", ")}
	}
	res := l.Backend.Update(ctx, byDependencies(run), t, p, j, log)
	if res.Outcome == updater.Succeeded {
		if notes := l.after(ctx, run, log); len(notes) > 0 {
			res.Reason += "; " + strings.Join(notes, "; ")
		}
	}
	if len(skipped) > 0 {
		res.Reason += "; not replaced: " + strings.Join(skipped, ", ")
	}
	return res
}

// preUpdate runs w's pre-update command in its running container; it returns why the
// container must not be replaced now, or "".
func (l *Lifecycle) preUpdate(ctx context.Context, w updater.Workload, h policy.Hook, log zerolog.Logger) string {
	c, err := l.inspect(ctx, w.Name)
	if err != nil || !running(c) {
		return "" // the Backend says what it does with it
	}
	code, err := l.exec(ctx, c.ID, h)
	switch {
	case err != nil:
		log.Warn().Err(err).Str("container", w.Name).Msg("pre-update command failed; container not replaced")
		return "pre-update command failed: " + err.Error()
	case code == policy.SkipExitCode:
		log.Info().Str("container", w.Name).Msg("pre-update command exited 75: container not replaced this time")
		return "pre-update command exited 75"
	case code != 0:
		log.Warn().Int("exit", code).Str("container", w.Name).Msg("pre-update command failed; container not replaced")
		return fmt.Sprintf("pre-update command exited %d", code)
	}
	log.Info().Str("container", w.Name).Msg("pre-update command done")
	return ""
}

// after runs the post-update commands in the replacements and restarts the dependents
// of the replaced containers; it returns what went wrong, for the record.
func (l *Lifecycle) after(ctx context.Context, ws []updater.Workload, log zerolog.Logger) []string {
	var notes []string
	replaced := map[string]bool{}
	for _, w := range ws {
		replaced[w.Name] = true
		wt := l.honours(w.Name, w.Labels)
		h, ok := policy.PostUpdate(w.Labels)
		if wt == nil || !wt.LifecycleHooks || !ok {
			continue
		}
		code, err := l.exec(ctx, w.Name, h)
		if err == nil && code != 0 {
			err = fmt.Errorf("exited %d", code)
		}
		if err != nil {
			log.Warn().Err(err).Str("container", w.Name).Msg("post-update command failed")
			notes = append(notes, "post-update command of "+w.Name+": "+err.Error())
		}
	}
	if err := l.restartDependents(ctx, replaced, log); err != nil {
		notes = append(notes, err.Error())
	}
	return notes
}

// restartDependents restarts, dependencies first, the running containers that honour
// Watchtower's labels and whose depends-on label names a replaced container.
func (l *Lifecycle) restartDependents(ctx context.Context, replaced map[string]bool, log zerolog.Logger) error {
	list, err := l.c.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return fmt.Errorf("list the dependents of the replaced containers: %w", err)
	}
	var deps []updater.Workload
	for _, s := range list.Items {
		if len(s.Names) == 0 {
			continue
		}
		name := strings.TrimPrefix(s.Names[0], "/")
		if replaced[name] || reserved(name) || l.honours(name, s.Labels) == nil {
			continue
		}
		if !slices.ContainsFunc(policy.DependsOn(s.Labels), func(n string) bool { return replaced[n] }) {
			continue
		}
		if l.inRollout(s.Labels, s.Created) {
			log.Info().Str("container", name).Msg("not restarted although it depends on a replaced container: its own replacement is being watched")
			continue
		}
		deps = append(deps, updater.Workload{ID: s.ID, Name: name, Labels: s.Labels})
	}
	var errs []error
	for _, d := range byDependencies(deps) {
		if _, err := l.c.ContainerRestart(ctx, d.ID, client.ContainerRestartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("restart %s, which depends on a replaced container: %w", d.Name, err))
			continue
		}
		log.Info().Str("container", d.Name).Msg("restarted: it depends on a replaced container")
	}
	return errors.Join(errs...)
}

// inRollout reports whether a container is a replacement hoist made that is still
// within its watch (a minute's slack): restarting it would fail its own rollout.
func (l *Lifecycle) inRollout(labels map[string]string, created int64) bool {
	watch, err := time.ParseDuration(labels[LabelWatch])
	return err == nil && labels[LabelSwapOf] != "" && time.Unix(created, 0).Add(watch+time.Minute).After(l.now())
}

// byDependencies orders ws so that a container comes after those of ws its depends-on
// label names (a cycle keeps the given order for the rest).
func byDependencies(ws []updater.Workload) []updater.Workload {
	in := map[string]bool{}
	for _, w := range ws {
		in[w.Name] = true
	}
	done := map[string]bool{}
	out := make([]updater.Workload, 0, len(ws))
	for len(out) < len(ws) {
		moved := false
		for _, w := range ws {
			if done[w.Name] {
				continue
			}
			ready := !slices.ContainsFunc(policy.DependsOn(w.Labels), func(n string) bool { return in[n] && !done[n] && n != w.Name })
			if ready {
				out, done[w.Name], moved = append(out, w), true, true
			}
		}
		if !moved { // a cycle: the rest in the given order
			for _, w := range ws {
				if !done[w.Name] {
					out, done[w.Name] = append(out, w), true
				}
			}
		}
	}
	return out
}

// exec runs a lifecycle command with sh -c inside a container, as Watchtower did, and
// returns its exit code. A timeout of 0 means none.
func (l *Lifecycle) exec(ctx context.Context, id string, h policy.Hook) (int, error) {
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	ex, err := l.c.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", h.Command}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return 0, fmt.Errorf("create exec: %w", err)
	}
	att, err := l.c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, fmt.Errorf("start exec: %w", err)
	}
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, att.Reader) // ends when the command does
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		att.Close()
		<-done
		return 0, fmt.Errorf("did not end within %s", h.Timeout)
	}
	att.Close()
	for {
		r, err := l.c.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("inspect exec: %w", err)
		}
		if !r.Running {
			return r.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("did not end within %s", h.Timeout)
		case <-time.After(pollEvery):
		}
	}
}
