package policy

import "testing"

func TestExplain(t *testing.T) {
	web, err := NewRule("web", []string{"web-*"}, []string{"app"}, map[string]string{"tier": "prod", "team": "a"}, Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	api, err := NewRule("api", []string{"api"}, nil, nil, Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	two, one, none := NewSet(web, api), NewSet(api), NewSet()
	cases := []struct {
		set    *Set
		kind   Kind
		name   string
		labels map[string]string
		want   string
	}{
		{two, Service, "db", nil, "the name matches none of the services globs of 2 policies"},
		{one, Container, "db", nil, "the name matches none of policy api's containers globs"},
		{none, Service, "db", nil, "the policy file has no policies"},
		{two, Service, "web-1", map[string]string{"tier": "dev"},
			`policy web takes the name but wants label team=a (not set), wants label tier=prod (it is "dev")`},
		{two, Container, "app", map[string]string{"tier": "prod"}, "policy web takes the name but wants label team=a (not set)"},
		{two, Service, "api", map[string]string{LabelPolicy: "none"}, "opted out: label hoist.policy=none"},
		{two, Service, "x", map[string]string{LabelPolicy: "nope"}, "label hoist.policy=nope names no policy in the file"},
	}
	for _, c := range cases {
		if got := c.set.Explain(c.kind, c.name, c.labels); got != c.want {
			t.Errorf("Explain(%s %s %v) = %q, want %q", c.kind, c.name, c.labels, got, c.want)
		}
	}
}
