package ui

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// Row states, as the page's data-state attribute carries them.
const (
	stateUpToDate   = "up-to-date"
	stateUpdateDue  = "update-due"
	stateDeferred   = "deferred"
	stateApproval   = "awaiting-approval"
	stateSignature  = "awaiting-signature"
	statePromotion  = "awaiting-promotion"
	stateQuarantine = "quarantined"
	stateRolling    = "rolling-out"
	stateError      = "error"
	stateNoPolicy   = "no-policy"
)

// row is one workload as the dashboard shows it.
type row struct {
	Key          string     `json:"key"`
	Kind         string     `json:"kind"`
	Name         string     `json:"name"`
	Policy       string     `json:"policy,omitempty"`
	Image        string     `json:"image"`
	Current      string     `json:"current,omitempty"`
	Target       string     `json:"target,omitempty"`
	TargetDigest string     `json:"target_digest,omitempty"`
	State        string     `json:"state"`
	StateText    string     `json:"state_text"`
	Reason       string     `json:"reason,omitempty"`
	Compose      string     `json:"compose,omitempty"`   // the compose file names another image (Workload.Compose)
	SignedBy     []string   `json:"signed_by,omitempty"` // who signed the target, when its policy verifies signatures
	NotBefore    *time.Time `json:"not_before,omitempty"`
	HasPrevious  bool       `json:"has_previous"`
	Quarantined  int        `json:"quarantined"`
}

// stateView is what GET state answers: every workload's row, the newest rollout of
// each, and the quarantined digests.
type stateView struct {
	Workloads   []row                `json:"workloads"`
	Rollouts    []updater.Rollout    `json:"rollouts"`
	Quarantines []updater.Quarantine `json:"quarantines"`
	CanAct      bool                 `json:"can_act"`
	At          time.Time            `json:"at"`
}

// phaseText says a running rollout's phase in words.
func phaseText(p updater.Phase) string {
	if p == "" {
		return "rolling out"
	}
	return "rolling out · " + strings.ReplaceAll(string(p), "_", " ")
}

// rowState is the state a row shows: a running rollout first, else what the check
// concluded.
func rowState(st updater.Status, latest *updater.Rollout) (state, text string) {
	if latest != nil && latest.Outcome == updater.Running {
		return stateRolling, phaseText(latest.Phase)
	}
	switch st.Action {
	case updater.UpToDate:
		return stateUpToDate, "up to date"
	case updater.Equivalent:
		return stateUpToDate, "up to date (no platform in use changed)"
	case updater.WouldUpdate:
		return stateUpdateDue, "update due"
	case updater.WatchOnly:
		return stateUpdateDue, "update available (watch only)"
	case updater.Deferred:
		return stateDeferred, "deferred until " + st.NotBefore.UTC().Format("2006-01-02 15:04 UTC")
	case updater.AwaitingApproval:
		return stateApproval, "awaiting approval"
	case updater.AwaitingSignature:
		return stateSignature, "awaiting signature"
	case updater.AwaitingPromotion:
		// "waiting for staging (soak 12m left)": the reason's first clause
		text, _, _ := strings.Cut(st.Reason, "; ")
		return statePromotion, text
	case updater.Quarantined:
		return stateQuarantine, "quarantined"
	case updater.Refused:
		return stateError, "refused"
	case updater.NoPolicy:
		return stateNoPolicy, "no policy"
	}
	return stateError, "error"
}

// buildState joins the check's statuses with the newest rollouts and the quarantines.
func buildState(sts []updater.Status, recent []updater.Rollout, qs []updater.Quarantine) stateView {
	v := stateView{Workloads: make([]row, 0, len(sts)), Rollouts: []updater.Rollout{}, Quarantines: qs}
	if v.Quarantines == nil {
		v.Quarantines = []updater.Quarantine{}
	}
	latest := map[string]*updater.Rollout{}
	for i := range recent { // newest first
		r := &recent[i]
		if _, seen := latest[r.Workload]; !seen {
			latest[r.Workload] = r
			r.Logs = ""
			v.Rollouts = append(v.Rollouts, *r)
		}
	}
	qn := map[string]int{}
	for _, q := range qs {
		qn[q.Workload]++
	}
	for _, st := range sts {
		w := st.Workload
		r := row{Key: w.Key(), Kind: string(w.Kind), Name: w.Name, Policy: st.Policy, Image: w.Image,
			Current: st.Current, Target: st.Target, Reason: st.Reason, Compose: w.Compose, HasPrevious: w.HasPrevious, Quarantined: qn[w.Key()]}
		r.TargetDigest = registry.DigestOf(st.Target)
		if sig := st.Signature; sig != nil && sig.State == updater.SignatureVerified {
			r.SignedBy = sig.By
		}
		if !st.NotBefore.IsZero() {
			nb := st.NotBefore
			r.NotBefore = &nb
		}
		r.State, r.StateText = rowState(st, latest[w.Key()])
		v.Workloads = append(v.Workloads, r)
	}
	return v
}

// recentRollouts is how many of the newest records are read for each workload's latest.
const recentRollouts = 1000

// stateTTL is how long a check's answer is shared: pages that load together, or
// reconnect together after a restart, make one check, not one each.
const stateTTL = 2 * time.Second

// stateCache shares one check among the requests that come within stateTTL.
type stateCache struct {
	mu  sync.Mutex
	at  time.Time
	sts []updater.Status
}

func (sc *stateCache) get(ctx context.Context, u Updater) ([]updater.Status, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.sts != nil && time.Since(sc.at) < stateTTL {
		return sc.sts, nil
	}
	sts, err := u.Workloads(ctx)
	if err != nil {
		return nil, err
	}
	sc.sts, sc.at = sts, time.Now()
	return sts, nil
}

// getState answers the workloads, the newest rollout of each and the quarantines. The
// workloads' state needs a registry check (HEAD requests): the page asks on load, on
// (re)connecting to the feed, after a rollout ended, and at most every 5 minutes
// while it is on screen.
func (s *Server) getState(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), time.Minute)
	defer cancel()
	sts, err := s.state.get(ctx, s.u)
	if err != nil {
		return problem(http.StatusBadGateway, "engine-error", err.Error())
	}
	recent, err := s.records.Rollouts("", recentRollouts)
	if err != nil {
		return problem(http.StatusInternalServerError, "internal", "read the store: "+err.Error())
	}
	qs, err := s.records.Quarantines("")
	if err != nil {
		return problem(http.StatusInternalServerError, "internal", "read the store: "+err.Error())
	}
	v := buildState(sts, recent, qs)
	_, v.CanAct = sessionOf(c)
	v.At = time.Now().UTC()
	return sendJSON(c, http.StatusOK, v)
}

// invalidate has the next request check again.
func (sc *stateCache) invalidate() {
	sc.mu.Lock()
	sc.sts = nil
	sc.mu.Unlock()
}
