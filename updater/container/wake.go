package container

import (
	"context"
	"reflect"
	"time"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/wake"
)

// next returns a channel closed at the next event about the container id, or at a gap
// in the stream; nil while the stream is not live (the caller's polling carries on).
func (s *stream) next(id string) <-chan struct{} {
	if !s.running.Load() {
		return nil
	}
	return s.wakers.Next(id)
}

// every is how long a watch or a health gate sleeps between looks that would sleep d
// without the event stream.
func (s *stream) every(d time.Duration) time.Duration { return wake.Every(d, s.connected.Load()) }

// wake closes the channel of the container id, if one waits.
func (s *stream) wake(id string) { s.wakers.Wake(id) }

// wakeAll wakes every waiter: the stream started or broke, so each looks at once.
func (s *stream) wakeAll() { s.wakers.WakeAll() }

// sleep waits d, or less when an event about one of ids comes first (it died, its
// health changed): the health gate and the watch look again at once. It fails only
// when ctx ends, as sleep does.
func (s *stream) sleep(ctx context.Context, d time.Duration, ids ...string) error {
	woken := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	for _, id := range ids {
		ch := s.next(id)
		if ch == nil {
			continue
		}
		go func() {
			select {
			case <-ch:
				select {
				case woken <- struct{}{}:
				default:
				}
			case <-stop:
			}
		}()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-woken:
	}
	return nil
}

// sameWorkload reports whether two listings of a container say the same.
func sameWorkload(a, b updater.Workload) bool { return reflect.DeepEqual(a, b) }
