package updater

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hoist-dev/hoist/policy"
)

// entry is one listed workload as its policy set matched it, once per listing: events,
// jobs, checks and manual actions read these and never match a workload again.
type entry struct {
	w       Workload
	rule    *policy.Rule // nil: no policy follows the workload
	ruleErr error        // the policy set could not decide (ambiguous labels, ...)
	tag     name.Tag     // the tag the workload follows
	pinned  string       // the digest its image is pinned to ("" when not pinned)
	tagErr  error        // its image names no tag to follow
	key     string       // its job key (jobKey)
}

// match matches w against the policies in force. It is the only place a listed
// workload is matched.
func (u *Updater) match(w Workload) entry {
	u.matches.Add(1)
	e := entry{w: w, key: w.Key()}
	e.rule, e.ruleErr = u.policies().For(w.Kind, w.Name, w.Labels)
	e.tag, e.pinned, e.tagErr = imageRef(u.resolver, w.Image)
	if e.rule != nil {
		e.key = u.jobKey(w, e.rule)
	}
	return e
}

// jobKey serialises rollouts: one per service, one per group of containers that share a
// policy and an image.
func (u *Updater) jobKey(w Workload, rule *policy.Rule) string {
	if w.Kind == policy.Container {
		tag, _, _ := imageRef(u.resolver, w.Image)
		return "group/" + rule.Name + "/" + tag.String()
	}
	return w.Key()
}

// workloads lists every backend's workloads, reusing a recent listing unless fresh.
func (u *Updater) workloads(ctx context.Context, fresh bool) ([]Workload, error) {
	var since time.Time
	if fresh {
		since = time.Now()
	}
	l, err := u.listing(ctx, since)
	if err != nil {
		return nil, err
	}
	ws := make([]Workload, len(l.entries))
	for i, e := range l.entries {
		ws[i] = e.w
	}
	return ws, nil
}

// listing returns a listing begun at or after since (zero: any listing younger than
// ListTTL), listing the workloads and matching each once when there is none. A backend
// that keeps a live index (index.go) is read from it and never listed; its workloads
// are matched again only when they changed. Listings are serialised, and what one finds
// is swapped in whole: Enqueue reads the last one and never waits on the engine.
func (u *Updater) listing(ctx context.Context, since time.Time) (*listing, error) {
	u.listMu.Lock()
	defer u.listMu.Unlock()
	prev := u.listed.Load()
	rules := u.rules.Load()
	began := time.Now() // a listing is as recent as its start: the engine may change meanwhile
	parts := make(map[policy.Kind]part, len(u.backends))
	changed := prev == nil || prev.rules != rules
	for _, k := range kinds {
		b, ok := u.backends[k]
		if !ok {
			continue
		}
		var was part
		var refresh []string
		if prev != nil {
			was, refresh = prev.parts[k], prev.refresh[k]
		}
		p, moved, err := u.current(ctx, b, was, began, since, refresh)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", k, err)
		}
		parts[k], changed = p, changed || moved
	}
	if !changed { // the same workloads under the same rules: the match stands
		l := *prev
		l.parts, l.at, l.refresh = parts, oldest(parts), nil
		u.listed.Store(&l)
		return &l, nil
	}
	l := u.matchAll(parts, prev, rules)
	u.listed.Store(l)
	return l, nil
}

// kinds is the order in which backends are listed.
var kinds = []policy.Kind{policy.Service, policy.Container}

// oldest is the time of the oldest part: how recent the listing is.
func oldest(parts map[policy.Kind]part) time.Time {
	var at time.Time
	for _, p := range parts {
		if at.IsZero() || p.at.Before(at) {
			at = p.at
		}
	}
	return at
}

// matchAll builds the entries of parts, matching each workload once; an indexed
// workload whose revision prev already matched under the same rules keeps its entry.
func (u *Updater) matchAll(parts map[policy.Kind]part, prev *listing, rules *ruleset) *listing {
	n := 0
	for _, p := range parts {
		n += len(p.ws)
	}
	l := &listing{
		at: oldest(parts), watched: map[string]bool{}, entries: make([]entry, 0, n),
		parts: parts, rules: rules, byRev: map[rev]int{}, byRepo: map[string][]int{},
	}
	reuse := prev != nil && prev.rules == rules
	for _, k := range kinds {
		p := parts[k]
		for i, w := range p.ws {
			var e entry
			found := false
			if p.revs != nil {
				if j, ok := prev.revEntry(rev{k, p.revs[i]}); ok && reuse {
					e, found = j, true
				}
				l.byRev[rev{k, p.revs[i]}] = len(l.entries)
			}
			if !found {
				e = u.match(w)
			}
			l.add(e)
		}
	}
	return l
}

// add appends e to l and indexes it by the repository it follows.
func (l *listing) add(e entry) {
	if e.rule != nil && e.tagErr == nil {
		repo := e.tag.Context().Name()
		l.watched[repo] = true
		l.byRepo[repo] = append(l.byRepo[repo], len(l.entries))
	}
	l.entries = append(l.entries, e)
}

// rev names an indexed workload's revision: each backend's index counts its own.
type rev struct {
	kind policy.Kind
	n    uint64
}

// revEntry is the entry l holds for an indexed workload's revision.
func (l *listing) revEntry(r rev) (entry, bool) {
	if l == nil {
		return entry{}, false
	}
	i, ok := l.byRev[r]
	if !ok {
		return entry{}, false
	}
	return l.entries[i], true
}

// following returns the entries that follow repo (a repository's canonical name).
func (l *listing) following(repo string) []entry {
	idx := l.byRepo[repo]
	es := make([]entry, len(idx))
	for i, j := range idx {
		es[i] = l.entries[j]
	}
	return es
}

// invalidate has the next caller list again (an index is read again anyway). keys
// name the workloads hoist changed itself (kind/name), which an index reads from the
// engine first.
func (u *Updater) invalidate(keys ...string) {
	if l := u.listed.Load(); l != nil {
		stale := *l
		stale.at = time.Time{}
		stale.parts = make(map[policy.Kind]part, len(l.parts))
		for k, p := range l.parts {
			p.at = time.Time{}
			stale.parts[k] = p
		}
		stale.refresh = make(map[policy.Kind][]string, len(l.refresh)+1)
		for k, ns := range l.refresh {
			stale.refresh[k] = slices.Clone(ns)
		}
		for _, key := range keys {
			w := keyWorkload(key)
			stale.refresh[w.Kind] = append(stale.refresh[w.Kind], w.Name)
		}
		u.listed.Store(&stale)
	}
}

// rolloutKeys are the workloads of recs.
func rolloutKeys(recs []Rollout) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Workload
	}
	return keys
}

// find returns the entry of the workload named key (kind/name) in l.
func (l *listing) find(key string) (entry, bool) {
	for _, e := range l.entries {
		if e.w.Key() == key {
			return e, true
		}
	}
	return entry{}, false
}

// compareKeys orders workloads as their keys (kind/name) sort, without building them.
func compareKeys(a, b Workload) int {
	if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}
