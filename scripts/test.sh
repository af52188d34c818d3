#!/usr/bin/env bash
# Runs hoist's whole test suite against real things: a Docker engine in Swarm mode
# (a private one is started when none is reachable), Debian's docker-registry for the
# notification test, Debian's chromium for the dashboard's browser tests, the unit and
# end-to-end tests, short fuzz runs of every webhook parser, and a build of the
# container image. On a fresh Debian machine, run it as
# root: it installs what it needs (docker.io, docker-registry, chromium, docker-compose) with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v chromium >/dev/null || need+=(chromium)
command -v docker-compose >/dev/null || need+=(docker-compose)   # compose v1 e2e tests
command -v ip >/dev/null || need+=(iproute2)   # the multi-node cluster (scripts/cluster.sh)
command -v curl >/dev/null || need+=(curl)
command -v go >/dev/null || { echo "test.sh: Go is not installed; hoist needs the Go version named in go.mod (https://go.dev/dl)" >&2; exit 1; }
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "test.sh: missing ${need[*]}; run as root or apt-get install them" >&2; exit 1; fi
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# started: the engine is this script's own (it may stop and restart it).
started=no
if [ "${HOIST_ENGINE_PRIVATE:-}" = 1 ]; then
  started=yes
elif ! DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock} timeout 10 docker version >/dev/null 2>&1 \
   && ! DOCKER_HOST=unix:///tmp/hoist-engine/docker.sock timeout 10 docker version >/dev/null 2>&1; then
  started=yes
fi
echo "== docker engine"
eval "$(scripts/engine.sh start)"
export DOCKER_HOST
cleanup() {
  DOCKER_HOST=$DOCKER_HOST docker service ls -q --filter label=hoist.test 2>/dev/null | xargs -r docker service rm >/dev/null 2>&1 || true
  if [ "$started" = yes ]; then scripts/engine.sh stop; fi
  if [ "${cluster_started:-no}" = yes ]; then scripts/cluster.sh stop || true; fi
}
trap cleanup EXIT
docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})'

echo "== go vet"
go vet ./...
go vet -tags enginerestart,cluster ./cmd/hoist

echo "== Compose v2 for the compose e2e tests (docker/compose/v5 v5.6.0, built once from its Go module)"
# go install …@v5.6.0 refuses the module (its go.mod has exclude directives): build it
# from a writable copy of the module's directory instead, and keep the binary.
compose_v2="${XDG_CACHE_HOME:-$HOME/.cache}/hoist/compose-v5.6.0/docker-compose"
if [ ! -x "$compose_v2" ]; then
  compose_src=$(cd / && go mod download -json github.com/docker/compose/v5@v5.6.0 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  compose_tmp=$(mktemp -d)
  cp -r "$compose_src/." "$compose_tmp/"
  chmod -R u+w "$compose_tmp"
  mkdir -p "$(dirname "$compose_v2")"
  (cd "$compose_tmp" && CGO_ENABLED=0 go build -o "$compose_v2.tmp" ./cmd) && mv "$compose_v2.tmp" "$compose_v2"
  rm -rf "$compose_tmp"
fi
export HOIST_COMPOSE_V2="$compose_v2"
"$HOIST_COMPOSE_V2" version

echo "== go test"
# Tests that need Docker or a registry fail instead of skipping when CI=true.
# The end-to-end tests mostly wait on the engine, so four run at once in a package.
CI=${CI:-true} go test -count=1 -timeout 30m -p 2 -parallel 4 ./...

echo "== engine restart mid-rollout (restarts the engine, so it runs alone)"
if [ "$started" = yes ]; then
  HOIST_ENGINE_RESTART="$PWD/scripts/engine.sh restart" CI=${CI:-true} \
    go test -tags enginerestart -count=1 -timeout 10m -run '^TestE2EEngineRestartMidRollout$' ./cmd/hoist
elif [ "${CI:-true}" = true ]; then
  echo "FAIL: the engine-restart test needs an engine this script started; $DOCKER_HOST is someone else's (HOIST_ENGINE_PRIVATE=1 starts a private one)"; exit 1
else
  echo "not run: it would restart an engine this script did not start ($DOCKER_HOST)"
fi

echo "== multi-node Swarm: 3 managers, 2 workers, a registry that requires credentials (scripts/cluster.sh)"
if [ "$(id -u)" = 0 ]; then
  t0=$SECONDS
  cluster_started=yes
  scripts/cluster.sh start
  eval "$(scripts/cluster.sh env)"
  cluster_up=$((SECONDS - t0)); t0=$SECONDS
  go vet -tags cluster ./cmd/hoist
  clusterlog=$(mktemp)
  cluster_rc=0
  CI=${CI:-true} go test -tags cluster -count=1 -timeout 15m -v -run '^TestCluster' ./cmd/hoist >"$clusterlog" 2>&1 || cluster_rc=$?
  grep -E '^(--- |ok|FAIL)|e2e_cluster' "$clusterlog" | grep -v '^ *{' || true
  [ "$cluster_rc" = 0 ] || { tail -200 "$clusterlog"; echo "FAIL: cluster tests"; exit 1; }
  rm -f "$clusterlog"
  cluster_tests=$((SECONDS - t0)); t0=$SECONDS
  scripts/cluster.sh stop; cluster_started=no
  echo "cluster started in ${cluster_up}s, its tests took ${cluster_tests}s, stopping it $((SECONDS - t0))s"
elif [ "${CI:-true}" = true ]; then
  echo "FAIL: the multi-node cluster needs root (network namespaces, a bridge)"; exit 1
else
  echo "not run: the multi-node cluster needs root"
fi

echo "== fuzz (short)"
# A failing input is written to testdata/fuzz and fails the run. Runs are counted in
# inputs, not seconds: a time limit races with Go's fuzzing workers on a loaded machine
# ("context deadline exceeded" without any failing input). Such a run gets more tries.
fuzzlog=$(mktemp)
for pkg in ./webhook ./config; do
  for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    ok=no
    for try in 1 2 3; do
      if go test -run='^$' -fuzz="^${f}\$" -fuzztime="${FUZZTIME:-20000x}" "$pkg" >"$fuzzlog" 2>&1; then ok=yes; break; fi
      tail -20 "$fuzzlog"
      if grep -q 'Failing input written to' "$fuzzlog"; then break; fi
      echo "fuzzing $f stopped without a failing input; trying once more"
    done
    [ "$ok" = yes ] || { echo "FAIL: fuzz $f"; exit 1; }
    echo "fuzzed $f: $(grep -o 'execs: [0-9]*' "$fuzzlog" | tail -1)"
  done
done
rm -f "$fuzzlog"

echo "== poll benchmark (one cycle, ratio against the cheapest go-containerregistry loop)"
scripts/bench-poll.sh -n 100,2000 -reps 3

echo "== container image"
scripts/build-image.sh hoist:test
docker run --rm hoist:test version
