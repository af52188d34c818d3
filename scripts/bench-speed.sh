#!/bin/sh
# Measures what issue 21 asks of hoist's speed, each figure next to a baseline measured
# in the same run, and prints them:
#   - webhook POST -> new image in the target service's spec, with 1,000 unrelated
#     services on the engine (real ones, 0 replicas) and 10,000 (the 1,000 real ones and
#     9,000 recorded copies the test's transport adds to each listing the engine answers),
#     hoist listing the engine per event (baseline) and reading its event-driven index;
#   - a new task's death after Swarm's "completed" -> hoist's rollback in the spec, with
#     the watch polling (baseline) and woken by the engine's event stream;
#   - hoist serve as a process with that many real services: RSS, CPU per cycle, HEADs;
#   - a whole poll cycle over 1,000 and 10,000 services (CPU, peak RSS, HEADs per cycle)
#     and its ratio to the cheapest go-containerregistry loop, and ResolveMany against
#     that loop at 2,000 and 10,000 references (scripts/bench-poll.sh).
# Needs the engine at DOCKER_HOST (Swarm mode), e.g. eval "$(scripts/engine.sh start)".
# Usage: scripts/bench-speed.sh [services=1000] [samples=12] [death reps=3]
#   HOIST_SPEED_SCALE=1 scripts/bench-speed.sh 10000   # 10,000 real services, no copies
#   (creating them takes the engine minutes; they are removed at the end)
set -eu
cd "$(dirname "$0")/.."
services=${1:-1000}
samples=${2:-12}
reps=${3:-3}
echo "== poll cycles and the cheapest ggcr loop (in-process registry, each client its own process)"
sh scripts/bench-poll.sh -n 2000,10000 -services 1000,10000 -reps 5 -cycles 3
echo
echo "== task death -> rollback in the spec (real engine)"
HOIST_SPEED_REPS="$reps" go test -tags speed ./updater -run '^TestSpeedDeathToRollback$' -count=1 -v -timeout 20m | grep '^SPEED'
echo
echo "== webhook -> spec (real engine, $services unrelated services created and removed by the run)"
HOIST_SPEED_SERVICES="$services" HOIST_SPEED_SAMPLES="$samples" go test -tags speed ./updater -run '^TestSpeedWebhookToSpec$' -count=1 -v -timeout 40m | grep '^SPEED'
echo
echo "== hoist serve at scale (real engine, $services idle services over half as many references, polled every 10 s)"
HOIST_SPEED_SERVICES="$services" go test -tags speed ./updater -run '^TestSpeedServeAtScale$' -count=1 -v -timeout 20m | grep '^SPEED'
