package container

import (
	"slices"
	"strings"
)

// arrange orders the swaps of a group so that a container's dependencies (compose's
// com.docker.compose.depends_on label, and the containers or compose services named in
// its hoist.after label) are replaced before it, each swap with a level
// one above its deepest dependency in the group: a batch never mixes levels. A swap
// whose container shares another's network namespace becomes a member of that one's
// swap (follow.go), made once that one's replacement holds the name.
func arrange(swaps []*swap) []*swap {
	byID, byName := map[string]*swap{}, map[string]*swap{}
	for _, s := range swaps {
		byID[s.old.ID], byName[s.name] = s, s
	}
	var top []*swap
	for _, s := range swaps {
		if s.old.HostConfig != nil && s.old.HostConfig.NetworkMode.IsContainer() {
			ref := s.old.HostConfig.NetworkMode.ConnectedContainer()
			owner := byID[ref]
			if owner == nil {
				owner = byName[ref]
			}
			if owner != nil && owner != s && !memberOf(owner, s) {
				owner.members = append(owner.members, s)
				continue
			}
		}
		top = append(top, s)
	}
	bySvc := map[string]*swap{} // "project/service" and container names
	for _, s := range top {
		bySvc[s.name] = s
	}
	for _, s := range top {
		if svc := serviceKey(s); svc != "" {
			bySvc[svc] = s
		}
	}
	seen := map[*swap]bool{}
	var level func(s *swap) int
	level = func(s *swap) int {
		if seen[s] {
			return s.level // a cycle, or already known
		}
		seen[s] = true
		for _, dep := range dependsOn(s) {
			if d := bySvc[dep]; d != nil && d != s {
				s.level = max(s.level, level(d)+1)
			}
		}
		return s.level
	}
	for _, s := range top {
		level(s)
	}
	slices.SortStableFunc(top, func(a, b *swap) int { return a.level - b.level })
	return top
}

// memberOf reports whether s is m or among its members, at any depth.
func memberOf(s, m *swap) bool {
	if s == m {
		return true
	}
	for _, x := range m.members {
		if memberOf(s, x) {
			return true
		}
	}
	return false
}

// serviceKey is "project/service" of a compose member, "" otherwise.
func serviceKey(s *swap) string {
	l := s.old.Config.Labels
	if l[labelComposeProject] == "" || l[labelComposeService] == "" {
		return ""
	}
	return l[labelComposeProject] + "/" + l[labelComposeService]
}

// dependsOn reads compose's depends_on label ("svc:condition:restart,…") as
// "project/svc" keys, and the hoist.after label ("name,name"): each name a container,
// or a service of the container's compose project.
func dependsOn(s *swap) []string {
	l := s.old.Config.Labels
	var out []string
	for _, part := range strings.Split(l[labelComposeDependsOn], ",") {
		svc, _, _ := strings.Cut(strings.TrimSpace(part), ":")
		if svc != "" && l[labelComposeProject] != "" {
			out = append(out, l[labelComposeProject]+"/"+svc)
		}
	}
	for _, name := range strings.Split(l[LabelAfter], ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		out = append(out, name)
		if l[labelComposeProject] != "" {
			out = append(out, l[labelComposeProject]+"/"+name)
		}
	}
	return out
}

// batchEnd is where the batch that starts at i ends: at most n swaps, all of one level.
func batchEnd(swaps []*swap, i, n int) int {
	end := i + 1
	for end < len(swaps) && end-i < n && swaps[end].level == swaps[i].level {
		end++
	}
	return end
}
