// Package gate holds metric gates: a query to a monitoring system whose result must
// stay below a threshold while a digest soaks in an earlier stage (policy when.after)
// or while a canary holds.
//
// A gate is asked through one method:
//
//	g, err := gate.NewPrometheus(url, query, below)
//	ok, reason, err := g.Check(ctx)
//
// ok is false when a sample of the query is at or above the threshold; reason then
// names the query and the value ("query `…` = 0.12, not below 0.05") and goes into the
// rollout's record. err is for a gate that could not be asked (server down, bad query):
// the caller decides whether that holds or fails what it gates. Measure returns the
// reading itself (Reading), for records.
//
// The Prometheus gate asks /api/v1/query through the Prometheus client library's API
// package. It imports only policy (the spec, New).
package gate
