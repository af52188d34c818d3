package config

import (
	"strings"
	"testing"
	"time"
)

const wtToken = "0123456789abcdef0123456789abcdef"

// Each Watchtower setup becomes a file that parses and validates (with the variables
// it references set), holds the settings it should and names what it could not map.
func TestFromWatchtower(t *testing.T) {
	cases := []struct {
		name  string
		setup WatchtowerSetup
		want  []string // lines (trimmed) or fragments the file must hold
		not   []string // fragments it must not hold
		env   []string // variables it references
		notes []string // fragments of the notes
		check func(t *testing.T, c *Config)
	}{
		{
			name:  "defaults",
			setup: WatchtowerSetup{Container: "watchtower", Image: "containrrr/watchtower"},
			want:  []string{"interval: 24h", "label_enable: false", "update: digest"},
			not:   []string{"listen:", "webhooks:", "notify:", "registries:"},
			check: func(t *testing.T, c *Config) {
				if c.Poll.Interval.D() != 24*time.Hour || c.Policies[0].Watchtower == nil || c.Policies[0].Watchtower.LabelEnable {
					t.Errorf("poll %s, watchtower %+v", c.Poll.Interval.D(), c.Policies[0].Watchtower)
				}
			},
		},
		{
			name: "environment",
			setup: WatchtowerSetup{Env: map[string]string{
				"WATCHTOWER_POLL_INTERVAL": "300", "WATCHTOWER_LABEL_ENABLE": "true", "WATCHTOWER_CLEANUP": "true",
				"WATCHTOWER_SCOPE": "prod", "WATCHTOWER_LIFECYCLE_HOOKS": "1", "WATCHTOWER_INCLUDE_STOPPED": "true",
				"WATCHTOWER_NOTIFICATION_URL": "ntfy://ntfy.sh/topic-secret", "REPO_USER": "bob", "REPO_PASS": "hunter2",
			}, Hosts: []string{"ghcr.io", "index.docker.io", "ghcr.io"}},
			want:  []string{"interval: 5m", "prune_images: true", `scope: "prod"`, "lifecycle_hooks: true", "label_enable: true", `- host: "ghcr.io"`, `- host: "index.docker.io"`, "username: ${REPO_USER}", "url: ${WATCHTOWER_NOTIFICATION_URL}"},
			not:   []string{"hunter2", "topic-secret", "bob"},
			env:   []string{"REPO_USER", "REPO_PASS", "WATCHTOWER_NOTIFICATION_URL"},
			notes: []string{"WATCHTOWER_INCLUDE_STOPPED=true: hoist replaces running containers only"},
			check: func(t *testing.T, c *Config) {
				w := c.Policies[0].Watchtower
				if !c.Docker.PruneImages || len(c.Registries) != 2 || c.Registries[0].Password.Value() != "hunter2" || w.Scope != "prod" || !w.LifecycleHooks || c.Notify[0].URL.Value() != "ntfy://ntfy.sh/topic-secret" {
					t.Errorf("config: %+v", c)
				}
			},
		},
		{
			name: "HTTP API and monitor-only from flags",
			setup: WatchtowerSetup{Env: map[string]string{"WATCHTOWER_HTTP_API_TOKEN": wtToken},
				Args: []string{"--http-api-update", "--monitor-only", "--interval", "30", "web", "/db"}},
			want: []string{`listen: ":8080"`, "token: ${WATCHTOWER_HTTP_API_TOKEN}", "interval: 0s", "update: none", `- "web"`, `- "db"`},
			not:  []string{wtToken},
			env:  []string{"WATCHTOWER_HTTP_API_TOKEN"},
			check: func(t *testing.T, c *Config) {
				if c.Webhooks.Watchtower == nil || c.Webhooks.Watchtower.Token.Value() != wtToken || c.Poll.Interval != 0 || c.Policies[0].Update != "none" || len(c.Policies[0].Match.Containers) != 2 {
					t.Errorf("config: %+v", c)
				}
			},
		},
		{
			name:  "HTTP API with periodic polls and a short token",
			setup: WatchtowerSetup{Env: map[string]string{"WATCHTOWER_HTTP_API_UPDATE": "true", "WATCHTOWER_HTTP_API_TOKEN": "short", "WATCHTOWER_HTTP_API_PERIODIC_POLLS": "true", "WATCHTOWER_POLL_INTERVAL": "3600"}},
			want:  []string{"interval: 1h"},
			env:   []string{"WATCHTOWER_HTTP_API_TOKEN"},
			notes: []string{"WATCHTOWER_HTTP_API_TOKEN has 5 characters"},
		},
		{
			name:  "daily schedule",
			setup: WatchtowerSetup{Env: map[string]string{"WATCHTOWER_SCHEDULE": "0 30 4 * * *"}},
			want:  []string{"interval: 1h", `- { from: "04:30", to: "05:30" }`},
			check: func(t *testing.T, c *Config) {
				ws := c.Policies[0].When.Windows
				if len(ws) != 1 || ws[0].From.String() != "04:30" {
					t.Errorf("windows %+v", ws)
				}
			},
		},
		{
			name:  "several notification URLs, one unknown, and the legacy Slack hook",
			setup: WatchtowerSetup{Env: map[string]string{"WATCHTOWER_NOTIFICATION_URL": "discord://tok@123 nope://x https://hooks.example.com/a", "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL": "https://hooks.slack.com/services/X", "WATCHTOWER_NOTIFICATION_EMAIL_SERVER": "smtp.example.com"}},
			want:  []string{"${WATCHTOWER_NOTIFICATION_URL_1}", "${WATCHTOWER_NOTIFICATION_URL_3}", "format: slack"},
			not:   []string{"WATCHTOWER_NOTIFICATION_URL_2", "tok@123"},
			env:   []string{"WATCHTOWER_NOTIFICATION_URL_1", "WATCHTOWER_NOTIFICATION_URL_3", "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL"},
			notes: []string{"notification URL 2", "WATCHTOWER_NOTIFICATION_EMAIL_SERVER"},
		},
		{
			name:  "unreadable interval",
			setup: WatchtowerSetup{Env: map[string]string{"WATCHTOWER_POLL_INTERVAL": "5m"}},
			want:  []string{"interval: 24h"},
			notes: []string{`WATCHTOWER_POLL_INTERVAL="5m" is not a number of seconds`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := FromWatchtower(c.setup)
			text := string(im.YAML)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("file lacks %q:\n%s", w, text)
				}
			}
			for _, n := range c.not {
				if strings.Contains(text, n) {
					t.Errorf("file holds %q:\n%s", n, text)
				}
			}
			vals := map[string]string{}
			var names []string
			for _, e := range im.Env {
				vals[e.Name] = e.Value.Value()
				names = append(names, e.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.env, ",") {
				t.Errorf("env %q, want %q", names, c.env)
			}
			notes := strings.Join(im.Notes, "\n")
			for _, n := range c.notes {
				if !strings.Contains(notes, n) || !strings.Contains(text, n) {
					t.Errorf("notes lack %q (in the file too):\n%s", n, notes)
				}
			}
			cfg, err := Parse("hoist.yaml", im.YAML, func(k string) string { return vals[k] })
			if c.name == "HTTP API with periodic polls and a short token" {
				if err == nil || !strings.Contains(err.Error(), "webhooks.watchtower.token") {
					t.Fatalf("a short token passed validation: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the file does not validate: %v\n%s", err, text)
			}
			if c.check != nil {
				c.check(t, cfg)
			}
		})
	}
}

func TestCronToHoist(t *testing.T) {
	cases := []struct {
		expr    string
		every   time.Duration
		windows []string
		why     string // fragment; "" means none
	}{
		{"@every 90m", 90 * time.Minute, nil, ""},
		{"@hourly", time.Hour, nil, ""},
		{"@daily", time.Hour, []string{`{ from: "00:00", to: "01:00" }`}, "midnight"},
		{"@weekly", time.Hour, []string{`{ days: [sun], from: "00:00", to: "01:00" }`}, "Sundays"},
		{"@monthly", 24 * time.Hour, nil, "no monthly"},
		{"*/30 * * * * *", 30 * time.Second, nil, ""},
		{"0 */15 * * * *", 15 * time.Minute, nil, ""},
		{"0 0 */6 * * *", 6 * time.Hour, nil, ""},
		{"0 0 * * * *", time.Hour, nil, ""},
		{"0 0 4 * * *", time.Hour, []string{`{ from: "04:00", to: "05:00" }`}, "checked hourly"},
		{"0 0 23 * * *", time.Hour, []string{`{ from: "23:00", to: "00:00" }`}, ""},
		{"0 15 2,14 * * MON-FRI", time.Hour, []string{`{ days: [mon, tue, wed, thu, fri], from: "02:15", to: "03:15" }`, `{ days: [mon, tue, wed, thu, fri], from: "14:15", to: "15:15" }`}, ""},
		{"0 0 1-3 * * 0,6", time.Hour, []string{`{ days: [sun, sat], from: "01:00", to: "04:00" }`}, ""},
		{"0 0 4 1 * *", time.Hour, []string{`{ from: "04:00", to: "05:00" }`}, "days of the month"},
		{"0 0 4 * * L", time.Hour, []string{`{ from: "04:00", to: "05:00" }`}, "day-of-week field"},
		{"30 4 * * *", time.Hour, nil, ""}, // 5 fields: minute 30 hour 4... read as sec 0
		{"0 0,30 4 * * *", 24 * time.Hour, nil, "minute field"},
		{"nonsense", 24 * time.Hour, nil, "not a 6-field"},
		{"@every 1ms", 24 * time.Hour, nil, "could not read"},
	}
	for _, c := range cases {
		every, wins, why := cronToHoist(c.expr)
		if c.expr == "30 4 * * *" {
			// 5 fields get a leading second: 0 30 4 * * * is 04:30 daily.
			c.windows = []string{`{ from: "04:30", to: "05:30" }`}
		}
		if every != c.every || strings.Join(wins, "|") != strings.Join(c.windows, "|") || !strings.Contains(why, c.why) {
			t.Errorf("%q: %s %q %q; want %s %q, why containing %q", c.expr, every, wins, why, c.every, c.windows, c.why)
		}
	}
}
