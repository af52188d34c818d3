package updater

// watchOnly tells of an update a policy only watches for. A container labelled
// Watchtower's monitor-only=true (under a policy that honours Watchtower's labels) gets
// one record per digest, outcome skipped, saying that an update is available, as
// Watchtower's monitor-only mode reported it; update: none is only logged.
func (u *Updater) watchOnly(w Workload, st Status, trigger string) {
	if st.rule != nil && st.rule.MonitorOnly(w.Labels) {
		u.noteOnce(w, st, trigger)
		return
	}
	u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
}
