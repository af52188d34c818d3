package container

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// fakeSwap is a swap of a compose member of project p, as arrange sees it.
func fakeSwap(id, svc, dependsOn, netMode string) *swap {
	l := map[string]string{labelComposeProject: "p", labelComposeService: svc}
	if dependsOn != "" {
		l[labelComposeDependsOn] = dependsOn
	}
	return &swap{name: "p-" + svc + "-1", old: container.InspectResponse{
		ID:         id,
		Config:     &container.Config{Labels: l},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(netMode)},
	}}
}

// A group is replaced in the order of compose's depends_on, dependencies first, a batch
// never mixing levels; a container in another's network namespace goes with that one.
func TestArrangeDependsOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		swaps []*swap
		want  string // names by level, "|" between levels; members in brackets
	}{
		{"no labels keep their order", []*swap{
			fakeSwap("a", "web", "", ""), fakeSwap("b", "worker", "", ""),
		}, "web worker"},
		{"a dependency first", []*swap{
			fakeSwap("a", "api", "worker:service_started:false", ""), fakeSwap("b", "worker", "", ""),
		}, "worker | api"},
		{"a chain and an unrelated one", []*swap{
			fakeSwap("a", "front", "api:service_healthy:true,db:service_started:false", ""),
			fakeSwap("b", "api", "worker:service_started:false", ""),
			fakeSwap("c", "worker", "", ""),
			fakeSwap("d", "cron", "", ""),
		}, "worker cron | api | front"},
		{"a dependency outside the group is ignored", []*swap{
			fakeSwap("a", "api", "db:service_started:false", ""),
		}, "api"},
		{"a cycle does not hang", []*swap{
			fakeSwap("a", "x", "y:service_started:false", ""), fakeSwap("b", "y", "x:service_started:false", ""),
		}, ""},
		{"hoist.after names a container", []*swap{
			withLabel(fakeSwap("a", "api", "", ""), LabelAfter, "p-cache-1"), fakeSwap("b", "cache", "", ""),
		}, "cache | api"},
		{"hoist.after names a compose service, with spaces", []*swap{
			withLabel(fakeSwap("a", "front", "", ""), LabelAfter, " api , cache"),
			fakeSwap("b", "api", "", ""), fakeSwap("c", "cache", "", ""),
		}, "api cache | front"},
		{"hoist.after and depends_on together", []*swap{
			withLabel(fakeSwap("a", "front", "api:service_started:false", ""), LabelAfter, "cache"),
			withLabel(fakeSwap("b", "api", "", ""), LabelAfter, "cache"), fakeSwap("c", "cache", "", ""),
		}, "cache | api | front"},
		{"network_mode service:web goes with web", []*swap{
			fakeSwap("s", "sidecar", "web:service_started:false", "container:w"),
			fakeSwap("w", "web", "", ""),
		}, "web[sidecar]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := arrange(tc.swaps)
			if tc.want == "" {
				if len(got) != len(tc.swaps) {
					t.Fatalf("arrange lost swaps: %d of %d", len(got), len(tc.swaps))
				}
				return
			}
			if s := describe(got); s != tc.want {
				t.Errorf("order %q, want %q", s, tc.want)
			}
		})
	}
}

// describe writes swaps as names by level; batchEnd must cut at each level.
func describe(ss []*swap) string {
	var b strings.Builder
	for i, end := 0, 0; i < len(ss); i = end {
		end = batchEnd(ss, i, 10)
		if i > 0 {
			b.WriteString(" | ")
		}
		for k, s := range ss[i:end] {
			if k > 0 {
				b.WriteString(" ")
			}
			b.WriteString(strings.TrimSuffix(strings.TrimPrefix(s.name, "p-"), "-1"))
			if len(s.members) > 0 {
				b.WriteString("[" + describe(s.members) + "]")
			}
		}
	}
	return b.String()
}

// withLabel sets one more label on a fake swap's old container.
func withLabel(s *swap, k, v string) *swap {
	s.old.Config.Labels[k] = v
	return s
}
