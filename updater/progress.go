package updater

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
)

// Progresser is a backend that can say how far a rollout has come.
type Progresser interface {
	// Progress counts w's tasks (or its container) that run image, of those it should
	// have.
	Progress(ctx context.Context, w Workload, image string) (done, want int, err error)
}

// Progress is how far a rollout has come: Done of Want tasks (or containers) run the
// image it moves to, or goes back to while it rolls back.
type Progress struct {
	Done int `json:"done"`
	Want int `json:"want"`
}

// progressEvery is how often a converging or rolling-back rollout's progress is read
// from the engine, while anyone follows the change feed.
const progressEvery = time.Second

// progressTimeout bounds one reading (an engine under load can take seconds).
const progressTimeout = 10 * time.Second

// progressFeed tells subscribers how far converging and rolling-back rollouts have
// come, read from their backends.
type progressFeed struct {
	backends map[policy.Kind]Backend
	record   func(id uint64) (Rollout, error) // the store's Get
	stopped  func() bool                      // Run has returned or is returning
	changes  *hub
	log      zerolog.Logger
}

// follow reads the progress of rec's rollout every progressEvery while its record
// stays in phase, and tells subscribers each time it changes. It costs nothing while
// nobody is subscribed, and ends with the phase, the rollout, or Run.
func (f *progressFeed) follow(rec Rollout, phase Phase) {
	w := keyWorkload(rec.Workload)
	b, ok := f.backends[w.Kind].(Progresser)
	if !ok {
		return
	}
	image := rec.To
	if phase == PhaseRollingBack {
		image = rec.From
	}
	var last Progress
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for range tick.C {
		r, err := f.record(rec.ID)
		if err != nil || r.Outcome != Running || r.Phase != phase || f.stopped() {
			return
		}
		if !f.changes.followed() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), progressTimeout)
		done, want, err := b.Progress(ctx, w, image)
		cancel()
		if err != nil {
			f.log.Debug().Err(err).Str("workload", rec.Workload).Msg("rollout progress not read")
			continue
		}
		if p := (Progress{Done: done, Want: want}); p != last {
			last = p
			f.changes.publish(Change{Kind: ChangeProgress, Workload: rec.Workload, Progress: &p})
		}
	}
}
