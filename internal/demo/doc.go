// Package demo holds the parts of `hoist demo` that need neither the Docker engine nor
// hoist's other packages: the small web app every demo image runs (`hoist demo-app`),
// the images themselves (the running hoist binary is their only layer; no base image),
// the registry on a loopback port that tells hoist of each push as Distribution's
// notifications do, the sampler behind the availability figure, and the progress line.
//
// It must not import other hoist packages or the Docker client (depcheck_test.go):
// cmd/hoist wires it to the engine and to hoist's own serve.
package demo
