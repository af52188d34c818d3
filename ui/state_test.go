package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/updater"
)

func TestRowState(t *testing.T) {
	at := time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)
	running := &updater.Rollout{Outcome: updater.Running, Phase: updater.PhaseRollingBack}
	ended := &updater.Rollout{Outcome: updater.RolledBack, Phase: updater.PhaseEnded}
	for _, tc := range []struct {
		action      updater.Action
		latest      *updater.Rollout
		state, text string
	}{
		{updater.UpToDate, nil, stateUpToDate, "up to date"},
		{updater.Equivalent, ended, stateUpToDate, "up to date (no platform in use changed)"},
		{updater.WouldUpdate, nil, stateUpdateDue, "update due"},
		{updater.WatchOnly, nil, stateUpdateDue, "update available (watch only)"},
		{updater.Deferred, nil, stateDeferred, "deferred until 2026-12-02 22:00 UTC"},
		{updater.AwaitingApproval, nil, stateApproval, "awaiting approval"},
		{updater.AwaitingSignature, nil, stateSignature, "awaiting signature"},
		{updater.AwaitingPromotion, nil, statePromotion, "waiting for staging (soak 12m left)"},
		{updater.Quarantined, ended, stateQuarantine, "quarantined"},
		{updater.Refused, nil, stateError, "refused"},
		{updater.CheckError, nil, stateError, "error"},
		{updater.NoPolicy, nil, stateNoPolicy, "no policy"},
		{updater.WouldUpdate, running, stateRolling, "rolling out · rolling back"},
		{updater.UpToDate, &updater.Rollout{Outcome: updater.Running}, stateRolling, "rolling out"},
	} {
		st := updater.Status{Action: tc.action, NotBefore: at}
		if tc.action == updater.AwaitingPromotion {
			st.Reason = "waiting for staging (soak 12m left)"
		}
		state, text := rowState(st, tc.latest)
		if state != tc.state || text != tc.text {
			t.Errorf("%s (latest %+v): %s %q, want %s %q", tc.action, tc.latest, state, text, tc.state, tc.text)
		}
	}
}

// The state joins each workload with its newest rollout (without logs) and counts its
// quarantined digests.
func TestBuildState(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	sts := []updater.Status{{Workload: updater.Workload{Kind: "service", Name: "web", Image: "r/web:1@" + d}, Policy: "p",
		Current: d, Target: "r/web:1@" + d, Action: updater.UpToDate}}
	recent := []updater.Rollout{
		{ID: 3, Workload: "service/web", Outcome: updater.Succeeded, Logs: "long"},
		{ID: 2, Workload: "service/web", Outcome: updater.RolledBack},
		{ID: 1, Workload: "service/db", Outcome: updater.Succeeded},
	}
	qs := []updater.Quarantine{{Workload: "service/web", Digest: d}, {Workload: "service/db", Digest: d}}
	v := buildState(sts, recent, qs)
	if len(v.Workloads) != 1 || v.Workloads[0].Key != "service/web" || v.Workloads[0].TargetDigest != d || v.Workloads[0].Quarantined != 1 {
		t.Errorf("rows: %+v", v.Workloads)
	}
	if len(v.Rollouts) != 2 || v.Rollouts[0].ID != 3 || v.Rollouts[0].Logs != "" || v.Rollouts[1].ID != 1 {
		t.Errorf("latest rollouts: %+v", v.Rollouts)
	}
	if empty := buildState(nil, nil, nil); empty.Workloads == nil || empty.Rollouts == nil || empty.Quarantines == nil {
		t.Error("empty lists must be [] in JSON, not null")
	}
}
