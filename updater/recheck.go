package updater

import (
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// pushRechecks are when a tag is asked of its registry again after a webhook found the
// workload up to date: a registry may notify a push before its tag points at the new
// manifest (Distribution sends the manifest's event, then tags it), so the first
// lookup can still see the old digest. A forged notification costs these lookups, no
// more.
var pushRechecks = []time.Duration{2 * time.Second, 5 * time.Second}

// recheckWindow is how long the re-checks of one tag count against pushRechecks: a
// push a minute later gets its own.
const recheckWindow = time.Minute

// recheck is how many re-checks a tag had since when.
type recheck struct {
	n     int
	since time.Time
}

// recheckPush has tag checked again after the next of pushRechecks, unless they are
// used up within recheckWindow. The re-check comes as an event of the same source, so
// a rollout it starts is recorded with the webhook as its trigger.
func (u *Updater) recheckPush(tag name.Tag, source string) {
	now := u.now()
	u.mu.Lock()
	for k, r := range u.rechecks {
		if now.Sub(r.since) > recheckWindow {
			delete(u.rechecks, k)
		}
	}
	k := tag.String()
	r, ok := u.rechecks[k]
	if !ok {
		r = recheck{since: now}
	}
	if r.n >= len(pushRechecks) {
		u.mu.Unlock()
		return
	}
	after := pushRechecks[r.n]
	r.n++
	u.rechecks[k] = r
	u.mu.Unlock()
	u.log.Debug().Str("tag", k).Str("source", source).Dur("in", after).Msg("up to date after a push notification; asking the registry again")
	u.wakeAt(tag, now.Add(after), source)
}

// pushFound forgets the re-checks of tag once a check found it moved: the next push
// notification gets its own.
func (u *Updater) pushFound(tag name.Tag) {
	u.mu.Lock()
	delete(u.rechecks, tag.String())
	u.mu.Unlock()
}
