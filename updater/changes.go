package updater

import "sync"

// ChangeKind says what a Change is about.
type ChangeKind string

const (
	// ChangeRollout: a rollout record was written (started, entered a phase, ended).
	ChangeRollout ChangeKind = "rollout"
	// ChangeQuarantine: a digest was quarantined for a workload, or its quarantine cleared.
	ChangeQuarantine ChangeKind = "quarantine"
	// ChangeApproval: an update is held for approval, or was approved.
	ChangeApproval ChangeKind = "approval"
	// ChangeProgress: a converging or rolling-back rollout replaced more tasks.
	ChangeProgress ChangeKind = "progress"
	// ChangeResync: changes were dropped for a slow subscriber, or the policies changed
	// (SetPolicies); read the whole state again.
	ChangeResync ChangeKind = "resync"
)

// Change is one thing that changed in the updater's state, as subscribers see it.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Workload is the workload's key, when the change is about one.
	Workload string `json:"workload,omitempty"`
	// Rollout is the record as written, for a ChangeRollout.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Progress is how far the workload's rollout has come, for a ChangeProgress.
	Progress *Progress `json:"progress,omitempty"`
}

// changeBuffer is how many changes wait for one subscriber before it is sent a
// ChangeResync in their place.
const changeBuffer = 64

// hub fans changes out to subscribers without ever blocking the updater.
type hub struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

// Subscribe returns a channel of the updater's changes and a function that ends the
// subscription (and closes the channel). A subscriber that falls behind is sent one
// ChangeResync in place of the changes it missed.
func (u *Updater) Subscribe() (<-chan Change, func()) {
	h := &u.changes
	ch := make(chan Change, changeBuffer)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Change]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			close(ch)
			h.mu.Unlock()
		})
	}
}

// publish hands c to every subscriber; it never blocks.
func (h *hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- c:
			continue
		default:
		}
		// Full: what is queued is stale anyway; replace it with one resync marker.
	drain:
		for {
			select {
			case <-ch:
			default:
				break drain
			}
		}
		select {
		case ch <- Change{Kind: ChangeResync}:
		default:
		}
	}
}

// followed reports whether anyone is subscribed.
func (h *hub) followed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// changedRollout tells subscribers that r was written.
func (u *Updater) changedRollout(r Rollout) {
	r.Logs = "" // subscribers read a record's logs from the store when they need them
	u.changes.publish(Change{Kind: ChangeRollout, Workload: r.Workload, Rollout: &r})
	u.stageEnded(r)
}

// changed tells subscribers that something of kind changed for workload.
func (u *Updater) changed(kind ChangeKind, workload string) {
	u.changes.publish(Change{Kind: kind, Workload: workload})
}
