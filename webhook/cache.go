package webhook

import (
	"sync"
	"time"
)

// ttlSet remembers keys for a fixed time, holding at most max of them: the oldest
// goes first when it is full. Every key lives equally long, so insertion order is
// expiry order and a ring of keys is all the bookkeeping needed. It grows as keys
// come, not to max at once.
type ttlSet struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	at   map[string]time.Time
	ring []ttlEntry
	next int // the oldest slot, once the ring holds max keys
}

type ttlEntry struct {
	key string
	at  time.Time
}

func newTTLSet(ttl time.Duration, max int) *ttlSet {
	return &ttlSet{ttl: ttl, max: max, at: map[string]time.Time{}}
}

// add records key at now and reports whether it was already there and unexpired.
func (s *ttlSet) add(key string, now time.Time) (seen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.at[key]; ok && now.Sub(t) < s.ttl {
		return true
	}
	s.at[key] = now
	if len(s.ring) < s.max {
		s.ring = append(s.ring, ttlEntry{key, now})
		return false
	}
	// Evict the slot's previous key, unless it has been re-added since (a newer slot holds it).
	if old := s.ring[s.next]; old.key != key && s.at[old.key].Equal(old.at) {
		delete(s.at, old.key)
	}
	s.ring[s.next] = ttlEntry{key, now}
	s.next = (s.next + 1) % len(s.ring)
	return false
}
