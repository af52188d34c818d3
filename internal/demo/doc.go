// Package demo is `hoist demo`: it shows hoist at work on the local engine in about a
// minute. Run sets the scene (a registry on a loopback port that tells hoist of each
// push as Distribution's notifications do, images of a small web app whose only layer
// is the running hoist binary, a Swarm service or a container running v1, the sampler
// behind the availability figure), runs hoist in this process through internal/app
// with the dashboard on, tells the story step by step as hoist's API (internal/apiclient)
// reports it — a rollout, a crash rolled back and quarantined, a policy changed by a
// reload and an update held for approval — and removes everything, or with Keep leaves
// hoist and its dashboard serving until Ctrl-C.
//
// The web app itself (`hoist demo-app`, app.go), the images (image.go), the registry
// (registry.go), the sampler and the progress line need nothing else of hoist.
// Only cmd/hoist imports demo (depcheck_test.go).
package demo
