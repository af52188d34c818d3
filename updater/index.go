package updater

import (
	"context"
	"time"
)

// Index is a backend that keeps its workloads current from the engine's event stream,
// so a listing costs no engine request: a full listing when it starts and after every
// gap in the stream, the stream's events in between. The updater reads it in place of
// Backend.List while it is live, and lists through the backend when it is not.
type Index interface {
	// Follow keeps the index current until ctx ends. Calling it again while it runs
	// does nothing.
	Follow(ctx context.Context)
	// Current is the index as it stands. ok is false while it is not live: before its
	// first listing, and from a gap in the stream until the listing that follows it.
	Current() (snap Snapshot, ok bool)
	// Streaming reports whether the engine's event stream is connected (the index may
	// still be a moment from live after an event that calls for a listing).
	Streaming() bool
	// Refresh reads the workloads named (by name) from the engine into the index now:
	// hoist changed them itself, and the events of that change may still be on their
	// way.
	Refresh(ctx context.Context, names []string) error
}

// Snapshot is an index's workloads at one moment; never changed once handed out.
type Snapshot struct {
	Workloads []Workload
	// Revs holds one revision per workload, unique across the index's life: a workload
	// whose revision is unchanged is the same as in an earlier snapshot, and its match
	// is reused.
	Revs []uint64
	// Gen changes whenever a workload does.
	Gen uint64
}

// follow starts the event stream of every backend that keeps an index; each ends with
// ctx.
func (u *Updater) follow(ctx context.Context) {
	for kind, b := range u.backends {
		if ix, ok := b.(Index); ok {
			go ix.Follow(ctx)
			go u.streamState(ctx, string(kind), ix)
		}
	}
}

// streamCheck is how often the updater looks whether an index's event stream is up.
var streamCheck = time.Second

// streamState says when an index's event stream breaks and when it is back: in the log
// and in hoist_event_stream_up{kind}. Meanwhile the updater lists through the backend
// and the watches poll, so nothing waits on the stream; the log says so.
func (u *Updater) streamState(ctx context.Context, kind string, ix Index) {
	t := time.NewTicker(streamCheck)
	defer t.Stop()
	up, seen := false, false
	u.gauge("hoist_event_stream_up", 0, "kind", kind)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ix.Streaming() == up {
			continue
		}
		up = !up
		switch {
		case !up:
			u.log.Warn().Str("kind", kind).Msg("the engine's event stream broke: listing the engine for each event and polling the watches until it is back")
		case seen:
			u.log.Info().Str("kind", kind).Msg("the engine's event stream is back")
		default:
			u.log.Debug().Str("kind", kind).Msg("following the engine's event stream")
		}
		seen = true
		v := 0.0
		if up {
			v = 1
		}
		u.gauge("hoist_event_stream_up", v, "kind", kind)
	}
}

// part is what a listing holds of one backend's workloads.
type part struct {
	ws   []Workload
	revs []uint64  // nil: listed through Backend.List, every workload matched anew
	gen  uint64    // the snapshot's generation (indexed parts)
	at   time.Time // when it was listed; zero: stale
}

// current returns the part of backend b for a listing begun at began that must be no
// older than since (zero: younger than the TTL): the live index's snapshot, the
// previous part when it is recent enough, or a new listing from the engine. refresh
// names the workloads hoist changed itself since the last listing: a live index reads
// them again first.
func (u *Updater) current(ctx context.Context, b Backend, prev part, began, since time.Time, refresh []string) (part, bool, error) {
	if ix, ok := b.(Index); ok {
		err := error(nil)
		if len(refresh) > 0 {
			err = ix.Refresh(ctx, refresh)
		}
		if s, live := ix.Current(); live && err == nil {
			return part{ws: s.Workloads, revs: s.Revs, gen: s.Gen, at: began}, prev.revs == nil || prev.gen != s.Gen, nil
		}
	}
	if prev.revs == nil && !prev.at.IsZero() {
		if since.IsZero() && time.Since(prev.at) < u.listTTL || !since.IsZero() && !prev.at.Before(since) {
			return prev, false, nil
		}
	}
	ws, err := b.List(ctx)
	if err != nil {
		return part{}, false, err
	}
	return part{ws: ws, at: began}, true, nil
}
