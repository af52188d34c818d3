package policy

import (
	"strconv"
	"strings"
	"time"
)

// Watchtower's container labels, which a rule with Watchtower set honours.
const (
	WatchtowerEnable      = "com.centurylinklabs.watchtower.enable"
	WatchtowerMonitorOnly = "com.centurylinklabs.watchtower.monitor-only"
	WatchtowerDependsOn   = "com.centurylinklabs.watchtower.depends-on"
	WatchtowerScope       = "com.centurylinklabs.watchtower.scope"
	WatchtowerPreUpdate   = "com.centurylinklabs.watchtower.lifecycle.pre-update"
	WatchtowerPostUpdate  = "com.centurylinklabs.watchtower.lifecycle.post-update"
	// The timeouts are whole minutes (Watchtower's unit); hoist also reads durations (90s).
	WatchtowerPreUpdateTimeout  = "com.centurylinklabs.watchtower.lifecycle.pre-update-timeout"
	WatchtowerPostUpdateTimeout = "com.centurylinklabs.watchtower.lifecycle.post-update-timeout"
	// WatchtowerMarker is the label Watchtower's own container carries.
	WatchtowerMarker = "com.centurylinklabs.watchtower"
)

// DefaultHookTimeout bounds a lifecycle command without a timeout label, as Watchtower does.
const DefaultHookTimeout = time.Minute

// SkipExitCode is the exit code of a pre-update command that asks to skip the update
// (EX_TEMPFAIL, as in Watchtower).
const SkipExitCode = 75

// Watchtower is how a rule reads Watchtower's labels.
type Watchtower struct {
	// LabelEnable takes only containers with enable=true.
	LabelEnable bool
	// Scope takes only containers with that scope label; "none" those without; "" any.
	Scope string
	// LifecycleHooks runs the pre-update and post-update commands.
	LifecycleHooks bool
}

// selects reports whether w's labels let a container into the rule: enable=false
// always keeps it out; with LabelEnable only enable=true lets it in; a scope must match.
func (w *Watchtower) selects(labels map[string]string) bool {
	enable, set := labels[WatchtowerEnable]
	if set && !isTrue(enable) {
		return false
	}
	if w.LabelEnable && !(set && isTrue(enable)) {
		return false
	}
	if w.Scope == "" {
		return true
	}
	scope := labels[WatchtowerScope]
	if scope == "" {
		scope = "none"
	}
	return scope == w.Scope
}

// MonitorOnly reports whether the rule only watches a workload with these labels: it
// honours Watchtower's labels and the container is labelled monitor-only=true.
func (r *Rule) MonitorOnly(labels map[string]string) bool {
	return r.Watchtower != nil && isTrue(labels[WatchtowerMonitorOnly])
}

// DependsOn lists the container names in a depends-on label (leading slashes dropped).
func DependsOn(labels map[string]string) []string {
	var out []string
	for _, n := range strings.Split(labels[WatchtowerDependsOn], ",") {
		if n = strings.TrimPrefix(strings.TrimSpace(n), "/"); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Hook is a lifecycle command to run inside a container.
type Hook struct {
	Command string
	Timeout time.Duration
}

// PreUpdate is the container's pre-update command, if it has one.
func PreUpdate(labels map[string]string) (Hook, bool) {
	return hook(labels, WatchtowerPreUpdate, WatchtowerPreUpdateTimeout)
}

// PostUpdate is the container's post-update command, if it has one.
func PostUpdate(labels map[string]string) (Hook, bool) {
	return hook(labels, WatchtowerPostUpdate, WatchtowerPostUpdateTimeout)
}

func hook(labels map[string]string, cmd, timeout string) (Hook, bool) {
	h := Hook{Command: strings.TrimSpace(labels[cmd]), Timeout: HookTimeout(labels[timeout])}
	return h, h.Command != ""
}

// HookTimeout reads a lifecycle timeout label: whole minutes as Watchtower writes them
// (0 means none), or a duration such as 90s; empty or unreadable is the default.
func HookTimeout(v string) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Minute
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d
	}
	return DefaultHookTimeout
}

// isTrue reads a label as Watchtower does (strconv.ParseBool).
func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}

// miss says why selects leaves a container out, "" when it does not.
func (w *Watchtower) miss(labels map[string]string) string {
	if w.selects(labels) {
		return ""
	}
	enable, set := labels[WatchtowerEnable]
	switch {
	case set && !isTrue(enable):
		return "it is labelled " + WatchtowerEnable + "=" + clip(enable, 20)
	case w.LabelEnable && !set:
		return "wants label " + WatchtowerEnable + "=true (not set)"
	}
	return "wants label " + WatchtowerScope + "=" + w.Scope + " (it is " + strconv.Quote(clip(labels[WatchtowerScope], 40)) + ")"
}
