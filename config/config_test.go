package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// fixtureEnv is the environment every testdata/bad fixture is parsed with.
var fixtureEnv = map[string]string{
	"HOIST_TEST_NEWLINE": "0123456789abcdef\n",
	"HOIST_TEST_INJECT":  "pw\n    insecure: true",
	"HOIST_TEST_WORDS":   "5m # comment",
}

func TestParseGood(t *testing.T) {
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/good.yaml", b, env(map[string]string{
		"REGISTRY_PASSWORD": "s3cret-pw", "HOIST_API_TOKEN": "api-token-0123456789", "HOIST_DISTRIBUTION_TOKEN": "dist-token-0123456789",
		"SLACK_HOOK": "https://hooks.slack.com/services/T0/B0/s3cr3t",
	}))
	if err != nil {
		t.Fatalf("good config: %v", err)
	}
	if cfg.Registries[0].Password.Value() != "s3cret-pw" {
		t.Errorf("password not substituted from the environment")
	}
	if n := cfg.Notify; len(n) != 3 || n[2].Service() != "ntfy" || n[2].Format != "" || n[2].Template == "" || n[0].URL.Value() != "https://hooks.slack.com/services/T0/B0/s3cr3t" || n[0].Format != "slack" ||
		strings.Join(n[0].On, ",") != "succeeded,rolled_back,failed,refused,awaiting_approval" || n[1].Format != "json" || strings.Join(n[1].On, ",") != "rolled_back,failed" {
		t.Errorf("notify: %+v", n)
	}
	if cfg.Poll.Interval.D() != 5*time.Minute {
		t.Errorf("poll interval %v", cfg.Poll.Interval.D())
	}
	web := cfg.Policies[0]
	if web.Rollout.Delay.D() != 5*time.Second || web.Rollout.Monitor.D() != 15*time.Second || web.Health.Watch.D() != 30*time.Second {
		t.Errorf("web rollout/health: %+v %+v", web.Rollout, web.Health)
	}
	if web.Match.Labels["tier"] != "front" || len(web.Match.Services) != 2 {
		t.Errorf("web match: %+v", web.Match)
	}
	api := cfg.Policies[1]
	if api.Update != "semver" || api.Semver != "~1.4" || api.Rollout.Parallelism != 1 || api.Rollout.Order != "start-first" {
		t.Errorf("api policy defaults: %+v", api)
	}
	// What the file writes is told apart from defaults: a Swarm service keeps its own
	// value for the rest.
	if got, want := strings.Join(web.Rollout.Written, ","), "parallelism,delay,order,monitor,max_failure_ratio"; got != want {
		t.Errorf("web rollout written: %q, want %q", got, want)
	}
	w := web.When
	if w.Timezone != "Europe/Berlin" || w.MinAge.D() != 2*time.Hour || len(w.Windows) != 2 ||
		len(w.Windows[0].Days) != 5 || w.Windows[0].Days[4] != Weekday(time.Friday) || w.Windows[0].From.String() != "22:00" || w.Windows[0].To.String() != "02:00" ||
		len(w.Windows[1].Days) != 0 || w.Windows[1].From.String() != "12:30" || w.Windows[1].To.String() != "13:00:30" {
		t.Errorf("web when: %+v", w)
	}
	if len(api.Rollout.Written) != 0 {
		t.Errorf("api rollout written: %q, want none", api.Rollout.Written)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("min.yaml", []byte("policies:\n  - name: p\n    match: { services: [x] }\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.DataDir != DefaultDataDir || cfg.Poll.Interval.D() != DefaultPoll {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = Parse("off.yaml", []byte("poll: { interval: 0 }\npolicies:\n  - name: p\n    match: { services: [x] }\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Poll.Interval != 0 {
		t.Errorf("interval 0 must turn polling off, got %v", cfg.Poll.Interval.D())
	}
}

// Every fixture in testdata/bad fails with exactly the problems in its .want file,
// each with its line.
func TestParseBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, _ := os.ReadFile(f)
			_, err := Parse(f, b, env(fixtureEnv))
			if err == nil {
				t.Fatal("no error")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems", err)
			}
			for _, p := range ps {
				if p.Line == 0 {
					t.Errorf("problem without a line: %s", p)
				}
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
			if os.IsNotExist(err) {
				t.Logf("%s (no .want file; only lines are checked)", ps)
				return
			}
			if got := ps.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2-very-secret")
	cfg := Config{API: API{Token: s}, Registries: []Registry{{Host: "r", Username: "u", Password: s}}}
	js, _ := json.Marshal(cfg)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, s, s), string(js)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if s.Value() != "hunter2-very-secret" {
		t.Fatal("Value must return the secret")
	}
}

// TestEnvValuesVerbatim: values from the environment reach the configuration exactly
// as they are, whatever YAML would make of them as text, and cannot add keys.
func TestEnvValuesVerbatim(t *testing.T) {
	vals := map[string]string{
		"HOIST_HASH":        "abc #not-a-comment",
		"HOIST_QUOTES":      `it's "quoted"`,
		"HOIST_COLON":       `key: value, {a: b} \n`,
		"HOIST_HEX":         "0x0123456789abcdef",
		"HOIST_YAMLISH":     "&anchor !!binary AAAA",
		"HOIST_USER":        "null",
		"HOIST_NULL":        "~",
		"HOIST_BACKSLASH":   `0123456789\"abcdef`,
		"HOIST_SIZE":        "512KiB",
		"HOIST_RATE":        "2.5",
		"HOIST_INTERVAL":    "90s",
		"HOIST_CONCURRENCY": "3",
		"HOIST_TIER":        "- front",
	}
	b, err := os.ReadFile("testdata/env/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/env/secrets.yaml", b, env(vals))
	if err != nil {
		t.Fatalf("%v", err)
	}
	for got, want := range map[string]string{
		cfg.API.Token.Value():                vals["HOIST_HASH"],
		cfg.Registries[0].Password.Value():   vals["HOIST_QUOTES"],
		cfg.Registries[1].Password.Value():   vals["HOIST_COLON"],
		cfg.Registries[2].Password.Value():   vals["HOIST_HEX"],
		cfg.Registries[3].Password.Value():   vals["HOIST_YAMLISH"],
		cfg.Registries[4].Username:           "null",
		cfg.Registries[4].Password.Value():   "pre-~-post",
		cfg.Webhooks.Harbor.Token.Value():    "Basic " + vals["HOIST_BACKSLASH"],
		cfg.Policies[0].Match.Labels["tier"]: "- front",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if cfg.Webhooks.Limits.MaxBody != 512<<10 || cfg.Webhooks.Limits.Rate != 2.5 ||
		cfg.Poll.Interval.D() != 90*time.Second || cfg.Poll.Concurrency != 3 {
		t.Errorf("non-string values: %+v %+v", cfg.Webhooks.Limits, cfg.Poll)
	}
	for _, r := range cfg.Registries {
		if r.Insecure {
			t.Errorf("%s: insecure set by a value", r.Host)
		}
	}
}
