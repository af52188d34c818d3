#!/bin/sh
# Measures one poll cycle (registry.Client.ResolveMany) against an in-process registry
# with N repositories, next to the cheapest go-containerregistry loop and the naive one.
# Usage: scripts/bench-poll.sh [-n 100,2000] [-c 8] [-reps 7]
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pollbench" ./registry/internal/pollbench
"$tmp/pollbench" "$@"
