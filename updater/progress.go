package updater

import (
	"context"
	"time"
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

// followProgress reads the progress of rec's rollout every progressEvery while its
// record stays in phase, and tells subscribers each time it changes. It costs nothing
// while nobody is subscribed, and ends with the phase, the rollout, or Run.
func (u *Updater) followProgress(rec Rollout, phase Phase) {
	w := keyWorkload(rec.Workload)
	b, ok := u.backends[w.Kind].(Progresser)
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
		r, err := u.store.Get(rec.ID)
		if err != nil || r.Outcome != Running || r.Phase != phase || u.queue.isStopped() {
			return
		}
		if !u.changes.followed() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), progressTimeout)
		done, want, err := b.Progress(ctx, w, image)
		cancel()
		if err != nil {
			u.log.Debug().Err(err).Str("workload", rec.Workload).Msg("rollout progress not read")
			continue
		}
		if p := (Progress{Done: done, Want: want}); p != last {
			last = p
			u.changes.publish(Change{Kind: ChangeProgress, Workload: rec.Workload, Progress: &p})
		}
	}
}
