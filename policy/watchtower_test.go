package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWatchtowerLabels(t *testing.T) {
	wt := func(name string, w Watchtower, containers ...string) *Rule {
		r := mustRule(t, name, nil, containers, nil, Digest, "")
		r.Watchtower = &w
		return r
	}
	on, off := map[string]string{WatchtowerEnable: "true"}, map[string]string{WatchtowerEnable: "false"}
	scoped := func(s string, more ...string) map[string]string {
		l := map[string]string{WatchtowerScope: s}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return l
	}
	cases := []struct {
		name   string
		rule   *Rule
		kind   Kind
		labels map[string]string
		want   bool
		miss   string // part of Explain's answer when not taken
	}{
		{"every container", wt("w", Watchtower{}), Container, nil, true, ""},
		{"no service without globs", wt("w", Watchtower{}), Service, nil, false, ""},
		{"enable=false leaves it out", wt("w", Watchtower{}), Container, off, false, "labelled " + WatchtowerEnable + "=false"},
		{"enable=FALSE too", wt("w", Watchtower{}), Container, map[string]string{WatchtowerEnable: "FALSE"}, false, "=FALSE"},
		{"label_enable takes enable=true", wt("w", Watchtower{LabelEnable: true}), Container, on, true, ""},
		{"label_enable takes enable=1", wt("w", Watchtower{LabelEnable: true}), Container, map[string]string{WatchtowerEnable: "1"}, true, ""},
		{"label_enable needs the label", wt("w", Watchtower{LabelEnable: true}), Container, nil, false, "wants label " + WatchtowerEnable + "=true (not set)"},
		{"label_enable and enable=false", wt("w", Watchtower{LabelEnable: true}), Container, off, false, "=false"},
		{"scope equal", wt("w", Watchtower{Scope: "prod"}), Container, scoped("prod"), true, ""},
		{"scope differs", wt("w", Watchtower{Scope: "prod"}), Container, scoped("dev"), false, `it is "dev"`},
		{"scope missing", wt("w", Watchtower{Scope: "prod"}), Container, nil, false, `it is ""`},
		{"scope none takes unscoped", wt("w", Watchtower{Scope: "none"}), Container, nil, true, ""},
		{"scope none leaves scoped out", wt("w", Watchtower{Scope: "none"}), Container, scoped("prod"), false, "scope=none"},
		{"no scope takes any scope", wt("w", Watchtower{}), Container, scoped("prod"), true, ""},
		{"scope and label_enable", wt("w", Watchtower{Scope: "prod", LabelEnable: true}), Container, scoped("prod", WatchtowerEnable, "true"), true, ""},
		{"globs still apply", wt("w", Watchtower{}, "app-*"), Container, nil, false, "none of policy w's containers globs"},
		{"globs and labels", wt("w", Watchtower{}, "app-*"), Container, on, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := NewSet(c.rule)
			name := "web"
			if c.name == "globs and labels" {
				name = "app-1"
				c.want = true
			}
			r, err := set.For(c.kind, name, c.labels)
			if err != nil || (r != nil) != c.want {
				t.Fatalf("For: %v, %v; want taken %v", r, err, c.want)
			}
			if !c.want && c.miss != "" {
				if why := set.Explain(c.kind, name, c.labels); !strings.Contains(why, c.miss) {
					t.Errorf("Explain: %q, want it to say %q", why, c.miss)
				}
			}
		})
	}
	// A rule without watchtower: ignores the labels.
	plain := mustRule(t, "p", nil, []string{"*"}, nil, Digest, "")
	if r, _ := NewSet(plain).For(Container, "web", off); r == nil {
		t.Error("a policy without watchtower: left out a container labelled enable=false")
	}
	// hoist.policy names a policy whatever Watchtower's labels say.
	if r, _ := NewSet(wt("w", Watchtower{LabelEnable: true})).For(Container, "web", map[string]string{LabelPolicy: "w"}); r == nil {
		t.Error("hoist.policy=w did not take the container")
	}
}

func TestWatchtowerMonitorOnlyDependsOnHooks(t *testing.T) {
	r := mustRule(t, "w", nil, nil, nil, Digest, "")
	mo := map[string]string{WatchtowerMonitorOnly: "true"}
	if r.MonitorOnly(mo) {
		t.Error("monitor-only read by a rule without watchtower:")
	}
	r.Watchtower = &Watchtower{}
	for v, want := range map[string]bool{"true": true, "True": true, "1": true, "false": false, "": false, "yes": false} {
		if got := r.MonitorOnly(map[string]string{WatchtowerMonitorOnly: v}); got != want {
			t.Errorf("monitor-only=%q: %v, want %v", v, got, want)
		}
	}
	if got := DependsOn(map[string]string{WatchtowerDependsOn: " db, /cache ,,web "}); !slices.Equal(got, []string{"db", "cache", "web"}) {
		t.Errorf("DependsOn: %q", got)
	}
	if got := DependsOn(nil); got != nil {
		t.Errorf("DependsOn(nil): %q", got)
	}
	for v, want := range map[string]time.Duration{"": time.Minute, "3": 3 * time.Minute, "0": 0, "90s": 90 * time.Second, "x": time.Minute, "-1": time.Minute} {
		if got := HookTimeout(v); got != want {
			t.Errorf("HookTimeout(%q) = %s, want %s", v, got, want)
		}
	}
	h, ok := PreUpdate(map[string]string{WatchtowerPreUpdate: " /dump.sh ", WatchtowerPreUpdateTimeout: "2"})
	if !ok || h.Command != "/dump.sh" || h.Timeout != 2*time.Minute {
		t.Errorf("PreUpdate: %+v %v", h, ok)
	}
	if _, ok := PostUpdate(map[string]string{WatchtowerPostUpdate: "  "}); ok {
		t.Error("an empty post-update command counted")
	}
}
