#!/bin/sh
# Measures one poll cycle (registry.Client.ResolveMany) against an in-process registry
# with N repositories, next to the cheapest go-containerregistry loop (one Puller over
# one pinged transport) and the naive one; with -services, whole poll cycles of the
# updater next to that cheapest loop run the same way (warm cycles, medians of runs).
# Usage: scripts/bench-poll.sh [-n 100,2000] [-c 8] [-reps 7] [-services 1000,10000]
#        [-cycles 3] [-cycle-runs 3]
# POLLBENCH_CPU=path writes CPU profiles (path.hoist, path.cheap; path and path.cycle-cheap
# for the cycles),
# POLLBENCH_HEAP=path a heap profile after the cycles, POLLBENCH_ALLOCS=path every
# allocation of each client (path.<client>, slow): go tool pprof -top.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pollbench" ./registry/internal/pollbench
"$tmp/pollbench" "$@"
