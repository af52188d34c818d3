package config

import "strings"

// watchtowerFlags maps Watchtower's command-line flags to the environment variables
// they stand for; true marks a flag that takes a value.
var watchtowerFlags = map[string]struct {
	env   string
	value bool
}{
	"interval": {"WATCHTOWER_POLL_INTERVAL", true}, "i": {"WATCHTOWER_POLL_INTERVAL", true},
	"schedule": {"WATCHTOWER_SCHEDULE", true}, "s": {"WATCHTOWER_SCHEDULE", true},
	"cleanup": {"WATCHTOWER_CLEANUP", false}, "c": {"WATCHTOWER_CLEANUP", false},
	"label-enable": {"WATCHTOWER_LABEL_ENABLE", false},
	"monitor-only": {"WATCHTOWER_MONITOR_ONLY", false}, "m": {"WATCHTOWER_MONITOR_ONLY", false},
	"include-stopped": {"WATCHTOWER_INCLUDE_STOPPED", false}, "S": {"WATCHTOWER_INCLUDE_STOPPED", false},
	"include-restarting":      {"WATCHTOWER_INCLUDE_RESTARTING", false},
	"revive-stopped":          {"WATCHTOWER_REVIVE_STOPPED", false},
	"scope":                   {"WATCHTOWER_SCOPE", true},
	"http-api-update":         {"WATCHTOWER_HTTP_API_UPDATE", false},
	"http-api-token":          {"WATCHTOWER_HTTP_API_TOKEN", true},
	"http-api-periodic-polls": {"WATCHTOWER_HTTP_API_PERIODIC_POLLS", false},
	"http-api-metrics":        {"WATCHTOWER_HTTP_API_METRICS", false},
	"notification-url":        {"WATCHTOWER_NOTIFICATION_URL", true},
	"notifications":           {"WATCHTOWER_NOTIFICATIONS", true}, "n": {"WATCHTOWER_NOTIFICATIONS", true},
	"notifications-level":    {"WATCHTOWER_NOTIFICATIONS_LEVEL", true},
	"enable-lifecycle-hooks": {"WATCHTOWER_LIFECYCLE_HOOKS", false},
	"rolling-restart":        {"WATCHTOWER_ROLLING_RESTART", false},
	"no-pull":                {"WATCHTOWER_NO_PULL", false},
	"no-restart":             {"WATCHTOWER_NO_RESTART", false},
	"run-once":               {"WATCHTOWER_RUN_ONCE", false}, "R": {"WATCHTOWER_RUN_ONCE", false},
	"stop-timeout": {"WATCHTOWER_TIMEOUT", true}, "t": {"WATCHTOWER_TIMEOUT", true},
	"disable-containers": {"WATCHTOWER_DISABLE_CONTAINERS", true}, "x": {"WATCHTOWER_DISABLE_CONTAINERS", true},
	"host": {"DOCKER_HOST", true}, "H": {"DOCKER_HOST", true},
}

// watchtowerSettings merges a Watchtower container's environment and its command line
// (flags win, as in Watchtower) into one map of environment names, and returns the
// container names given as arguments. Unknown flags are ignored.
func watchtowerSettings(env map[string]string, args []string) (map[string]string, []string) {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	var names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			names = append(names, a)
			continue
		}
		key, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, known := watchtowerFlags[key]
		switch {
		case !known:
		case !f.value:
			if !hasVal {
				val = "true"
			}
			out[f.env] = val
		case hasVal:
			out[f.env] = appendSetting(f.env, out[f.env], val)
		case i+1 < len(args):
			i++
			out[f.env] = appendSetting(f.env, out[f.env], args[i])
		}
	}
	return out, names
}

// appendSetting adds a repeated --notification-url to the list; other flags replace.
func appendSetting(env, old, v string) string {
	if env == "WATCHTOWER_NOTIFICATION_URL" && old != "" {
		return old + " " + v
	}
	return v
}
