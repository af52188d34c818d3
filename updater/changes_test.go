package updater

import "testing"

func TestSubscribe(t *testing.T) {
	u := &Updater{}
	ch, cancel := u.Subscribe()
	u.changed(ChangeQuarantine, "service/web")
	if c := <-ch; c.Kind != ChangeQuarantine || c.Workload != "service/web" {
		t.Errorf("got %+v, want a quarantine change of service/web", c)
	}
	u.changedRollout(Rollout{ID: 7, Workload: "service/web", Logs: "long", Outcome: Running})
	if c := <-ch; c.Rollout == nil || c.Rollout.ID != 7 || c.Rollout.Logs != "" {
		t.Errorf("got %+v, want rollout 7 without its logs", c)
	}
	cancel()
	cancel()
	if _, open := <-ch; open {
		t.Error("the channel is open after cancel")
	}
	u.changed(ChangeApproval, "service/web") // no subscriber: nothing blocks
}

// A subscriber that does not read is sent one resync in place of what it missed, and
// the updater never waits for it.
func TestSubscribeSlow(t *testing.T) {
	u := &Updater{}
	slow, cancelSlow := u.Subscribe()
	defer cancelSlow()
	fast, cancelFast := u.Subscribe()
	defer cancelFast()
	for i := range 3 * changeBuffer {
		u.changedRollout(Rollout{ID: uint64(i + 1)})
		if c := <-fast; c.Rollout == nil || c.Rollout.ID != uint64(i+1) {
			t.Fatalf("fast subscriber got %+v, want rollout %d", c, i+1)
		}
	}
	c := <-slow
	if c.Kind != ChangeResync {
		t.Errorf("slow subscriber's first change is %+v, want a resync", c)
	}
	if n := len(slow); n >= changeBuffer {
		t.Errorf("%d changes queued, want fewer than %d", n, changeBuffer)
	}
}
