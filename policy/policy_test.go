package policy

import "testing"

func mustRule(t *testing.T, name string, services, containers []string, labels map[string]string, s Strategy, rng string) *Rule {
	t.Helper()
	r, err := NewRule(name, services, containers, labels, s, rng)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFor(t *testing.T) {
	web := mustRule(t, "web", []string{"web", "shop-*"}, nil, map[string]string{"tier": "front"}, Digest, "")
	all := mustRule(t, "all", []string{"*"}, []string{"db-*"}, nil, Digest, "")
	set := NewSet(web, all)
	cases := []struct {
		kind   Kind
		name   string
		labels map[string]string
		want   string
		err    bool
	}{
		{Service, "web", map[string]string{"tier": "front"}, "web", false},
		{Service, "shop-eu", map[string]string{"tier": "front", "x": "y"}, "web", false},
		{Service, "shop-eu", map[string]string{"tier": "back"}, "all", false}, // label mismatch falls through
		{Service, "web", nil, "all", false},
		{Container, "web", map[string]string{"tier": "front"}, "", false}, // service globs don't match containers
		{Container, "db-1", nil, "all", false},
		{Container, "cache", map[string]string{LabelPolicy: "web"}, "web", false}, // label opt-in wins
		{Service, "web", map[string]string{LabelPolicy: "none", "tier": "front"}, "", false},
		{Service, "web", map[string]string{LabelPolicy: "nope"}, "", true},
	}
	for _, c := range cases {
		r, err := set.For(c.kind, c.name, c.labels)
		if (err != nil) != c.err {
			t.Errorf("%s %s %v: err %v", c.kind, c.name, c.labels, err)
			continue
		}
		got := ""
		if r != nil {
			got = r.Name
		}
		if got != c.want {
			t.Errorf("%s %s %v: rule %q, want %q", c.kind, c.name, c.labels, got, c.want)
		}
	}
}

func TestNewest(t *testing.T) {
	tags := []string{"latest", "1.3.9", "v1.4.0", "1.4.2", "1.4.10", "1.4.11-rc.1", "1.5.0", "2.0.0", "sha-abc", "1.4.3"}
	cases := []struct {
		rng, current, want string
		ok                 bool
	}{
		{"~1.4", "1.4.0", "1.4.10", true},
		{"~1.4", "v1.4.0", "1.4.10", true},
		{"^1", "1.4.2", "1.5.0", true},
		{">=2", "1.4.2", "2.0.0", true},
		{"~1.4", "1.4.10", "", false},                // already newest
		{"~1.4.11-0", "1.4.10", "1.4.11-rc.1", true}, // pre-release only when the range names one
		{"~1.4", "latest", "1.4.10", true},           // current is not a version: newest in range
		{"~3", "2.0.0", "", false},
	}
	for _, c := range cases {
		r := mustRule(t, "p", []string{"*"}, nil, nil, Semver, c.rng)
		got, ok := r.Newest(c.current, tags)
		if got != c.want || ok != c.ok {
			t.Errorf("range %s from %s: %q %v, want %q %v", c.rng, c.current, got, ok, c.want, c.ok)
		}
	}
}

// Variants ("-alpine", "-slim-bookworm") are followed, not switched, and pre-release
// suffixes are not mistaken for variants.
func TestNewestKeepsVariant(t *testing.T) {
	tags := []string{"1.25.3", "1.25.3-alpine", "1.25.4", "1.25.4-alpine", "1.25.4-bookworm", "1.25.5-alpine3.19",
		"1.26.0-alpine", "1.26.0", "1.26.1-rc.1", "1.26.1-rc.1-alpine", "1.25-alpine", "latest", "alpine"}
	cases := []struct {
		rng, current, want string
		ok                 bool
	}{
		{"~1.25", "1.25.3-alpine", "1.25.4-alpine", true}, // not 1.25.4, not -bookworm, not -alpine3.19
		{"~1.25", "1.25.3", "1.25.4", true},               // no variant: stays without one
		{"^1", "1.25.3-alpine", "1.26.0-alpine", true},
		{"^1", "1.25.4-bookworm", "", false},
		{"~1.25", "1.25.5-alpine3.19", "", false},
		{"^1", "1.26.0", "", false},                                // rc not picked: the range names no pre-release
		{"~1.26.1-0", "1.26.0", "1.26.1-rc.1", true},               // it does here
		{"~1.26.1-0", "1.26.0-alpine", "1.26.1-rc.1-alpine", true}, // the alpine variant's pre-release
		{"~1.25", "latest", "1.25.4", true},                        // current is not a version: newest in range, no variant
	}
	for _, c := range cases {
		r := mustRule(t, "p", []string{"*"}, nil, nil, Semver, c.rng)
		got, ok := r.Newest(c.current, tags)
		if got != c.want || ok != c.ok {
			t.Errorf("range %s from %s: %q %v, want %q %v", c.rng, c.current, got, ok, c.want, c.ok)
		}
	}
}

func TestNewRuleErrors(t *testing.T) {
	if _, err := NewRule("p", []string{"[x"}, nil, nil, Digest, ""); err == nil {
		t.Error("bad glob accepted")
	}
	if _, err := NewRule("p", nil, nil, nil, Semver, "~~1"); err == nil {
		t.Error("bad range accepted")
	}
	if _, err := NewRule("p", nil, nil, nil, "latest", ""); err == nil {
		t.Error("unknown strategy accepted")
	}
}
