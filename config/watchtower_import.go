package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WatchtowerSetup is what hoist import watchtower read off a Watchtower container.
type WatchtowerSetup struct {
	// Container and Image name the Watchtower container, for the file's header.
	Container, Image string
	// Env is the container's environment; Args its command line (flags override Env).
	Env  map[string]string
	Args []string
	// Hosts are the registry hosts of the images Watchtower watched (index.docker.io for
	// Docker Hub); REPO_USER/REPO_PASS are written for each.
	Hosts []string
}

// Imported is the hoist configuration equivalent to a Watchtower setup.
type Imported struct {
	// YAML is the commented file.
	YAML []byte
	// Env lists the variables the file references, with the values Watchtower had:
	// hoist serve needs them set. Values are secrets.
	Env []ImportedEnv
	// Notes say what could not be mapped (also written as comments in the file).
	Notes []string
}

// ImportedEnv is one variable the imported file references.
type ImportedEnv struct {
	Name  string
	Value Secret
	// From names the Watchtower setting it came from.
	From string
}

// FromWatchtower maps a Watchtower setup to a hoist configuration. It is pure: the
// caller reads the container.
func FromWatchtower(s WatchtowerSetup) Imported {
	env, names := watchtowerSettings(s.Env, s.Args)
	m := &importer{env: env}
	m.header(s)
	m.listenAndPoll()
	m.docker()
	m.registries(s.Hosts)
	m.api()
	m.webhook()
	m.notify()
	m.policy(names)
	m.unmapped()
	return Imported{YAML: []byte(m.out.String()), Env: m.refs, Notes: m.notes}
}

// importer writes the file section by section.
type importer struct {
	env   map[string]string
	out   strings.Builder
	refs  []ImportedEnv
	notes []string
}

func (m *importer) linef(format string, args ...any) { fmt.Fprintf(&m.out, format+"\n", args...) }

func (m *importer) note(format string, args ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, args...))
}

// ref returns ${name} and remembers that it must be set to value.
func (m *importer) ref(name, value, from string) string {
	m.refs = append(m.refs, ImportedEnv{Name: name, Value: Secret(value), From: from})
	return "${" + name + "}"
}

func (m *importer) on(key string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(m.env[key]))
	return err == nil && b
}

func (m *importer) header(s WatchtowerSetup) {
	m.linef("# hoist configuration written by `hoist import watchtower` from the Watchtower")
	m.linef("# container %s (%s).", yamlComment(s.Container), yamlComment(s.Image))
	m.linef("# Check it with `hoist validate`, then stop Watchtower and run `hoist serve`:")
	m.linef("# both would update the same containers.")
	m.linef("# What hoist adds: a health gate on each new container, rollback to the old one when")
	m.linef("# it fails, a quarantine of the failed digest, and compose-safe replacements.")
}

func (m *importer) listenAndPoll() {
	api := m.on("WATCHTOWER_HTTP_API_UPDATE")
	if api {
		m.linef("\n# Watchtower's HTTP API listened on :8080; hoist serves POST /v1/update there too.")
		m.linef("listen: \":8080\"")
	}
	m.linef("\npoll:")
	interval, sched := m.env["WATCHTOWER_POLL_INTERVAL"], m.env["WATCHTOWER_SCHEDULE"]
	switch {
	case api && !m.on("WATCHTOWER_HTTP_API_PERIODIC_POLLS"):
		m.linef("  # WATCHTOWER_HTTP_API_UPDATE without WATCHTOWER_HTTP_API_PERIODIC_POLLS: Watchtower")
		m.linef("  # only updated when asked. Registry webhooks or a poll interval are better triggers.")
		m.linef("  interval: 0s")
	case sched != "":
		if interval != "" {
			m.note("WATCHTOWER_POLL_INTERVAL=%s and WATCHTOWER_SCHEDULE are both set (Watchtower refuses that); the schedule is used", interval)
		}
		every, _, why := cronToHoist(sched)
		m.linef("  # WATCHTOWER_SCHEDULE=%q%s", sched, scheduleComment(why))
		m.linef("  interval: %s", durationText(every))
	case interval != "":
		secs, err := strconv.Atoi(strings.TrimSpace(interval))
		if err != nil || secs < 1 {
			m.note("WATCHTOWER_POLL_INTERVAL=%q is not a number of seconds; Watchtower's default, 24h, is used", interval)
			secs = 86400
		}
		m.linef("  interval: %s # WATCHTOWER_POLL_INTERVAL=%d (seconds)", durationText(time.Duration(secs)*time.Second), secs)
	default:
		m.linef("  interval: 24h # Watchtower's default (86400 s); registry webhooks make hoist faster")
	}
}

func scheduleComment(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

func (m *importer) docker() {
	host, cleanup := m.env["DOCKER_HOST"], m.on("WATCHTOWER_CLEANUP")
	if host == "" && !cleanup {
		return
	}
	m.linef("\ndocker:")
	if host != "" {
		m.linef("  host: %s # DOCKER_HOST", yamlQuote(host))
	}
	if cleanup {
		m.linef("  # WATCHTOWER_CLEANUP: the old image is removed once the previous container hoist")
		m.linef("  # keeps for a rollback (rollout.keep_previous, 24h) is gone too.")
		m.linef("  prune_images: true")
	}
}

func (m *importer) registries(hosts []string) {
	user, pass := m.env["REPO_USER"], m.env["REPO_PASS"]
	if user == "" && pass == "" {
		if m.env["DOCKER_CONFIG"] != "" {
			m.note("DOCKER_CONFIG=%s: hoist reads registry credentials from the Docker config in $DOCKER_CONFIG too; mount it into hoist's container the same way", m.env["DOCKER_CONFIG"])
		}
		return
	}
	if len(hosts) == 0 {
		hosts = []string{"index.docker.io"}
	}
	hosts = slices.Clone(hosts)
	sort.Strings(hosts)
	hosts = slices.Compact(hosts)
	u, p := m.ref("REPO_USER", user, "REPO_USER"), m.ref("REPO_PASS", pass, "REPO_PASS")
	m.linef("\n# REPO_USER / REPO_PASS, for the registries of the images Watchtower watched.")
	m.linef("# Watchtower offered them to every registry: keep only the hosts they belong to.")
	m.linef("registries:")
	for _, h := range hosts {
		m.linef("  - host: %s\n    username: %s\n    password: %s", yamlQuote(h), u, p)
	}
}

func (m *importer) api() {
	m.linef("\n# hoist's API (hoist check, history, approve, rollback, the dashboard) is mounted")
	m.linef("# once it has a token of 16 or more random characters:")
	m.linef("# api:")
	m.linef("#   token: ${HOIST_API_TOKEN}")
}

func (m *importer) webhook() {
	if !m.on("WATCHTOWER_HTTP_API_UPDATE") {
		return
	}
	tok := m.env["WATCHTOWER_HTTP_API_TOKEN"]
	if tok == "" {
		m.note("WATCHTOWER_HTTP_API_UPDATE is set without WATCHTOWER_HTTP_API_TOKEN; set one (openssl rand -hex 16) for hoist and for the jobs that call /v1/update")
	} else if len(tok) < MinTokenLen {
		m.note("WATCHTOWER_HTTP_API_TOKEN has %d characters; hoist wants at least %d (openssl rand -hex 16): give hoist and the jobs that call /v1/update a longer one", len(tok), MinTokenLen)
	}
	m.linef("\nwebhooks:")
	m.linef("  # WATCHTOWER_HTTP_API_UPDATE: POST /v1/update with Authorization: Bearer <token>")
	m.linef("  # checks every workload (or ?image=a,b those images) now.")
	m.linef("  watchtower:")
	m.linef("    token: %s", m.ref("WATCHTOWER_HTTP_API_TOKEN", tok, "WATCHTOWER_HTTP_API_TOKEN"))
}

func (m *importer) notify() {
	urls := strings.Fields(m.env["WATCHTOWER_NOTIFICATION_URL"])
	var lines []string
	for i, u := range urls {
		n := Notify{URL: Secret(u)}
		if n.Service() == "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			m.note("notification URL %d of WATCHTOWER_NOTIFICATION_URL names a service hoist does not send to; it is left out", i+1)
			continue
		}
		name := "WATCHTOWER_NOTIFICATION_URL"
		if len(urls) > 1 {
			name += "_" + strconv.Itoa(i+1)
		}
		lines = append(lines, "  - url: "+m.ref(name, u, "WATCHTOWER_NOTIFICATION_URL"))
	}
	if hook := m.env["WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL"]; hook != "" {
		lines = append(lines, "  - url: "+m.ref("WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL", hook, "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL")+"\n    format: slack")
	}
	for _, k := range []string{"WATCHTOWER_NOTIFICATION_EMAIL_SERVER", "WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL", "WATCHTOWER_NOTIFICATION_GOTIFY_URL"} {
		if m.env[k] != "" {
			m.note("%s: Watchtower's legacy notifications are not mapped; write them as a service URL under notify: (smtp://, teams://, gotify://)", k)
		}
	}
	if len(lines) == 0 {
		return
	}
	m.linef("\n# WATCHTOWER_NOTIFICATION_URL. skipped also tells of an update a monitor-only")
	m.linef("# container did not get, as Watchtower's monitor-only reports did.")
	m.linef("notify:")
	for _, l := range lines {
		m.linef("%s\n    on: [succeeded, rolled_back, failed, refused, awaiting_approval, skipped]", l)
	}
}

func (m *importer) policy(names []string) {
	m.linef("\npolicies:")
	m.linef("  - name: watchtower")
	if m.on("WATCHTOWER_MONITOR_ONLY") {
		m.linef("    update: none # WATCHTOWER_MONITOR_ONLY: report new images, change nothing")
	} else {
		m.linef("    update: digest # follow each container's tag to its newest digest, as Watchtower did")
	}
	if len(names) > 0 {
		m.linef("    match:\n      containers: # the container names Watchtower was given")
		for _, n := range names {
			m.linef("        - %s", yamlQuote(strings.TrimPrefix(n, "/")))
		}
	}
	m.linef("    # Watchtower's labels on the containers: enable=false leaves one out, monitor-only")
	m.linef("    # reports without updating, depends-on restarts the containers that name a replaced one.")
	m.linef("    watchtower:")
	m.linef("      label_enable: %t # WATCHTOWER_LABEL_ENABLE", m.on("WATCHTOWER_LABEL_ENABLE"))
	if sc := strings.TrimSpace(m.env["WATCHTOWER_SCOPE"]); sc != "" {
		m.linef("      scope: %s # WATCHTOWER_SCOPE", yamlQuote(sc))
	}
	m.linef("      lifecycle_hooks: %t # WATCHTOWER_LIFECYCLE_HOOKS: pre-update / post-update commands", m.on("WATCHTOWER_LIFECYCLE_HOOKS"))
	if m.on("WATCHTOWER_ROLLING_RESTART") {
		m.linef("    rollout: { parallelism: 1 } # WATCHTOWER_ROLLING_RESTART")
	}
	if sched := m.env["WATCHTOWER_SCHEDULE"]; sched != "" {
		_, wins, _ := cronToHoist(sched)
		if len(wins) > 0 && m.on("WATCHTOWER_HTTP_API_UPDATE") {
			m.note("WATCHTOWER_SCHEDULE's times are not made rollout windows: POST /v1/update rolls out at once, as it did with Watchtower")
		} else if len(wins) > 0 {
			m.linef("    when: # WATCHTOWER_SCHEDULE: rollouts start in these windows (UTC)")
			m.linef("      windows:")
			for _, w := range wins {
				m.linef("        - %s", w)
			}
		}
	}
}

// unmapped writes what hoist does differently, or not at all, as comments.
func (m *importer) unmapped() {
	why := map[string]string{
		"WATCHTOWER_INCLUDE_STOPPED":     "hoist replaces running containers only; a stopped one is updated once it runs",
		"WATCHTOWER_INCLUDE_RESTARTING":  "hoist replaces running containers only",
		"WATCHTOWER_REVIVE_STOPPED":      "hoist never starts a stopped container",
		"WATCHTOWER_NO_PULL":             "hoist always resolves the tag at the registry and pulls by digest",
		"WATCHTOWER_NO_RESTART":          "hoist always replaces the container: that is the update",
		"WATCHTOWER_RUN_ONCE":            "use `hoist check` for a one-off look; hoist serve runs continuously",
		"WATCHTOWER_TIMEOUT":             "hoist stops containers with their own stop timeout",
		"WATCHTOWER_DISABLE_CONTAINERS":  "label those containers hoist.policy=none",
		"WATCHTOWER_HTTP_API_METRICS":    "hoist serves Prometheus metrics at /metrics",
		"WATCHTOWER_NOTIFICATIONS_LEVEL": "list outcomes under notify[].on",
	}
	keys := make([]string, 0, len(why))
	for k := range why {
		if v := strings.TrimSpace(m.env[k]); v != "" && v != "false" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.note("%s=%s: %s", k, m.env[k], why[k])
	}
	if len(m.notes) == 0 {
		return
	}
	m.linef("\n# Not mapped, or done differently by hoist:")
	for _, n := range m.notes {
		m.linef("#   %s", yamlComment(n))
	}
}

// durationText writes d as hoist's config reads it (1h30m, 45s, 24h).
func durationText(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// yamlQuote quotes s as a YAML double-quoted string.
func yamlQuote(s string) string { return strconv.Quote(s) }

// yamlComment keeps s on one comment line.
func yamlComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
}
