package updater

import (
	"context"
	"fmt"
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
	return l.all, nil
}

// listing returns a listing begun at or after since (zero: any listing younger than
// ListTTL), listing the workloads and matching each once when there is none.
// Listings are serialised, and what one finds is swapped in whole: Enqueue reads the
// last one and never waits on the engine.
func (u *Updater) listing(ctx context.Context, since time.Time) (*listing, error) {
	u.listMu.Lock()
	defer u.listMu.Unlock()
	if l := u.listed.Load(); l != nil && !l.at.IsZero() {
		if since.IsZero() && time.Since(l.at) < u.listTTL || !since.IsZero() && !l.at.Before(since) {
			return l, nil
		}
	}
	began := time.Now() // a listing is as recent as its start: the engine may change meanwhile
	var all []Workload
	for _, k := range []policy.Kind{policy.Service, policy.Container} {
		b, ok := u.backends[k]
		if !ok {
			continue
		}
		ws, err := b.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", k, err)
		}
		all = append(all, ws...)
	}
	l := &listing{all: all, at: began, watched: map[string]bool{}, entries: make([]entry, len(all))}
	for i, w := range all {
		e := u.match(w)
		l.entries[i] = e
		if e.rule != nil && e.tagErr == nil {
			l.watched[e.tag.Context().Name()] = true
		}
	}
	u.listed.Store(l)
	return l, nil
}

// invalidate has the next caller list again.
func (u *Updater) invalidate() {
	if l := u.listed.Load(); l != nil {
		u.listed.Store(&listing{all: l.all, watched: l.watched, entries: l.entries})
	}
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
