// Package testenv gives tests the real things they run against: a Docker engine in
// Swarm mode, an in-process registry on 127.0.0.1 that the engine can pull from, and
// images of a tiny static test program built and pushed by the tests themselves.
//
// With CI=true a missing engine fails the test instead of skipping it.
package testenv
