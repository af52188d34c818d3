package updater

import "strings"

// watchOnly tells of an update a policy only watches for. Under a policy that honours
// Watchtower's labels (a container labelled monitor-only=true, or the policy's
// update: none, which is what Watchtower's monitor-only mode maps to) each new digest
// gets one record, outcome skipped, saying that an update is available, as Watchtower
// reported it; otherwise it is only logged.
func (u *Updater) watchOnly(w Workload, st Status, trigger string) {
	if st.rule != nil && st.rule.Watchtower != nil {
		if !strings.HasPrefix(st.Reason, availablePrefix) {
			st.Reason = availablePrefix + st.Reason
		}
		u.noteOnce(w, st, trigger)
		return
	}
	u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
}

// availablePrefix starts the reason of a watched update that was not rolled out.
const availablePrefix = "update available; not rolled out: "
