// Package wake hands out one channel per key that closes at the key's next event: how
// the backends' watches sleep until the engine's event stream tells them something.
package wake

import (
	"sync"
	"time"
)

// CrossCheck is how often a watch looks at what it watches while the engine's event
// stream is connected: the stream wakes it at once when something happens, so the look
// is only a cross-check (every look is an engine request).
const CrossCheck = time.Second

// Every is how long a watch sleeps between looks that would sleep d without the event
// stream: at least CrossCheck while the stream is connected.
func Every(d time.Duration, connected bool) time.Duration {
	if connected {
		return max(d, CrossCheck)
	}
	return d
}

// Set holds the channels of the keys someone waits on. Its zero value is ready.
type Set struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// Next returns the channel closed at key's next Wake (or WakeAll).
func (s *Set) Next(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[string]chan struct{}{}
	}
	ch, ok := s.ch[key]
	if !ok {
		ch = make(chan struct{})
		s.ch[key] = ch
	}
	return ch
}

// Wake closes key's channel, if one waits.
func (s *Set) Wake(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.ch[key]; ok {
		close(ch)
		delete(s.ch, key)
	}
}

// WakeAll closes every channel: each waiter looks at once.
func (s *Set) WakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, ch := range s.ch {
		close(ch)
		delete(s.ch, key)
	}
}
