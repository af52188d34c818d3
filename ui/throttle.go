package ui

import (
	"sync"
	"time"
)

// Wrong tokens are counted per client address (see proxies.clientKey): past
// loginBurst in loginWindow, a wrong token is answered 429 instead of 401. A right
// token is always taken: it is compared first, and the count never refuses it, so
// nobody can lock the operator out by failing on purpose, from one address or many.
// At most maxClients addresses are counted; past that, the oldest are forgotten
// (never refused), which only gives a guesser what a fresh address would.
const (
	loginBurst  = 10
	loginWindow = time.Minute
	maxClients  = 4096
)

// failures counts wrong tokens per client address in fixed windows.
type failures struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newFailures(now func() time.Time) *failures {
	return &failures{now: now, m: map[string]*window{}}
}

// fail counts a wrong token from key. It reports whether key is now past its
// budget, and if so how long until its window ends, and whether this failure is the
// one that crossed it (worth a log line; the later ones are not).
func (f *failures) fail(key string) (limited bool, wait time.Duration, first bool) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.m[key]
	if !ok || now.Sub(w.start) >= loginWindow {
		if !ok && len(f.m) >= maxClients {
			f.forget(now)
		}
		w = &window{start: now}
		f.m[key] = w
	}
	w.n++
	if w.n <= loginBurst {
		return false, 0, false
	}
	return true, loginWindow - now.Sub(w.start), w.n == loginBurst+1
}

// succeed clears key's count: the operator got in.
func (f *failures) succeed(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}

// forget makes room: every finished window goes, then, if that was not enough, a
// quarter of the table (the map's order is random, so no address can count on
// staying).
func (f *failures) forget(now time.Time) {
	for k, w := range f.m {
		if now.Sub(w.start) >= loginWindow {
			delete(f.m, k)
		}
	}
	for k := range f.m {
		if len(f.m) < maxClients*3/4 {
			return
		}
		delete(f.m, k)
	}
}
