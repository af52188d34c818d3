package webhook

import (
	"sync"
	"time"
)

// Memory the deliveries in flight may hold together. A delivery reserves, before its
// body is read, bodyCost times its declared length (limits.max_body when it declares
// none): its body, then what the body decodes into (at most MaxEvents events, whose
// strings are copies of the body's). One that does not fit waits up to budgetWait,
// then is refused with 503 and Retry-After.
const (
	defaultBudget = 32 << 20
	bodyCost      = 3
	budgetWait    = time.Second
)

// budget is a counting semaphore over bytes.
type budget struct {
	mu      sync.Mutex
	free    int64
	changed chan struct{} // closed and replaced at every release
}

func newBudget(total int64) *budget {
	return &budget{free: total, changed: make(chan struct{})}
}

// acquire takes n bytes of the budget, waiting up to wait for them; false means
// they did not come free in time.
func (b *budget) acquire(n int64, wait time.Duration) bool {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if n <= b.free {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		ch := b.changed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// release gives n bytes back and wakes the waiters.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}
