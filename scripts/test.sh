#!/usr/bin/env bash
# Runs hoist's whole test suite against real things: a Docker engine in Swarm mode
# (a private one is started when none is reachable), Debian's docker-registry for the
# notification test, Debian's chromium for the dashboard's browser tests, the unit and
# end-to-end tests, short fuzz runs of every webhook parser, and a build of the
# container image. On a fresh Debian machine, run it as
# root: it installs what it needs (docker.io, docker-registry, chromium, docker-compose, jq) with apt-get.
#
# The multi-node Swarm step runs on engines of its own (scripts/cluster.sh), so it runs
# beside the steps on the main engine; its output is printed when it ends. Every step
# says how long it took, and the slowest tests are listed at the end.
#
#   scripts/test.sh                 # every step
#   scripts/test.sh restart fuzz    # only these steps (vet, compose, go-test, restart,
#                                   # cluster, fuzz, bench, image), on the same engine
#   HOIST_TEST_PARALLEL=6 scripts/test.sh   # more end-to-end tests at once (default 4; more
#                                           # overloads a busy 2-core engine: healthchecks time out)
#   HOIST_TEST_JSON=/tmp/t.json scripts/test.sh   # keep go test's -json output (each test's start and end)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v chromium >/dev/null || need+=(chromium)
command -v docker-compose >/dev/null || need+=(docker-compose)   # compose v1 e2e tests
command -v ip >/dev/null || need+=(iproute2)   # the multi-node cluster (scripts/cluster.sh)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)   # reads go test -json for the summary
command -v go >/dev/null || { echo "test.sh: Go is not installed; hoist needs the Go version named in go.mod (https://go.dev/dl)" >&2; exit 1; }
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "test.sh: missing ${need[*]}; run as root or apt-get install them" >&2; exit 1; fi
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
only=" $* "
want() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }
export CI=${CI:-true}   # tests that need Docker, a registry or chromium fail instead of skipping

work=$(mktemp -d)
t_all=$SECONDS
timings=()
failed=()
step_name="" step_t0=0 summarised=yes cluster_ran=""
begin() { step_name=$1; step_t0=$SECONDS; echo "== $1${2:+: $2}"; }
# end records the step's time and result (0 = passed) and carries on.
end() {
  local rc=$1 res=ok
  [ "$rc" = 0 ] || { res=FAIL; failed+=("$step_name"); }
  timings+=("$(printf '%-16s %5ss  %s' "$step_name" $((SECONDS - step_t0)) "$res")")
}
summary() {
  summarised=yes
  echo "== steps (wall clock${cluster_ran:+; the cluster step ran beside the others})"
  printf '%s\n' "${timings[@]}"
  echo "total            $((SECONDS - t_all))s"
  if [ -s "$work/slow" ]; then echo "== slowest tests"; cat "$work/slow"; fi
}

# launched: this script started the engine (it stops it at the end): scripts/engine.sh
# marked a new one. own: the engine is the project's own, so the engine-restart test may
# restart it: one scripts/engine.sh started (now, or earlier for scripts/run.sh, which
# leaves it running), or the private one when HOIST_ENGINE_PRIVATE=1 says so.
marker=${HOIST_ENGINE_DIR:-/tmp/hoist-engine}/started-by-engine.sh
marked_before=$(cat "$marker" 2>/dev/null || true)
begin engine
eval "$(scripts/engine.sh start)"
export DOCKER_HOST
launched=no own=no
marked_now=$(cat "$marker" 2>/dev/null || true)
if [ -n "$marked_now" ] && [ "$marked_now" != "$marked_before" ]; then launched=yes; fi
if [ "${HOIST_ENGINE_PRIVATE:-}" = 1 ] || scripts/engine.sh owned; then own=yes; fi
summarised=no
cluster_pid=""
cleanup() {
  local rc=$?
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    pkill -TERM -P "$cluster_pid" 2>/dev/null || true
    kill "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
  for pid in ${pid_a:-} ${pid_b:-} ${pid_c:-}; do
    pkill -TERM -P "$pid" 2>/dev/null || true
  done
  if [ -n "${cpu_pid:-}" ] && kill -0 "$cpu_pid" 2>/dev/null; then
    pkill -TERM -P "$cpu_pid" 2>/dev/null || true
    kill "$cpu_pid" 2>/dev/null || true
  fi
  [ "$summarised" = yes ] || summary
  # Test services a killed test left behind, on the project's own engine only (another
  # run may be using someone else's).
  if [ "$own" = yes ]; then
    docker service ls -q --filter label=hoist.test 2>/dev/null | xargs -r docker service rm >/dev/null 2>&1 || true
  fi
  if [ "$launched" = yes ]; then scripts/engine.sh stop; fi
  if [ -f "$work/cluster.started" ]; then scripts/cluster.sh stop || true; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})'
echo "the project's own engine (may be restarted): $own"
end 0

# cluster runs the multi-node Swarm tests on a five-node cluster of their own.
cluster() {
  local t0=$SECONDS up tests rc=0
  touch "$work/cluster.started"
  scripts/cluster.sh start
  eval "$(scripts/cluster.sh env)"
  up=$((SECONDS - t0)); t0=$SECONDS
  go test -tags cluster -count=1 -timeout 15m -v -run '^TestCluster' ./cmd/hoist >"$work/cluster.log" 2>&1 || rc=$?
  tests=$((SECONDS - t0)); t0=$SECONDS
  scripts/cluster.sh stop && rm -f "$work/cluster.started"
  echo "cluster started in ${up}s, its tests took ${tests}s, stopping it $((SECONDS - t0))s"
  echo "$((SECONDS - cluster_t0))" >"$work/cluster.took"
  return "$rc"
}
cluster_t0=$SECONDS
if want cluster && [ "$(id -u)" = 0 ]; then
  echo "== cluster: multi-node Swarm, 3 managers, 2 workers, a registry that requires credentials (scripts/cluster.sh); runs beside the next steps"
  cluster >"$work/cluster.out" 2>&1 &
  cluster_pid=$! cluster_ran=yes
fi

if want compose; then
begin compose "Compose v2 for the compose e2e tests (docker/compose/v5 v5.6.0, built once from its Go module)"
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
end 0
fi
# cpu_steps run beside the other steps and report theirs when those are done.
cpu_steps() {
timings=() failed=()
if want restart; then
  # The engine-restart test's binary, built here so that the restart step only runs it.
  go test -c -tags enginerestart -o "$work/restart.test" ./cmd/hoist >"$work/restart.build" 2>&1 || true
  touch "$work/restart.built"
fi
if want vet; then
begin vet
rc=0
go vet ./... || rc=$?
go vet -tags enginerestart,cluster ./cmd/hoist || rc=$?
end "$rc"
fi
if want fuzz; then
begin fuzz "short runs of every parser's fuzzer"
# A failing input is written to testdata/fuzz and fails the run. Runs are counted in
# inputs, not seconds: a time limit races with Go's fuzzing workers on a loaded machine
# ("context deadline exceeded" without any failing input). Such a run gets more tries.
# Each package's fuzzing binary is built once and run for each of its fuzzers.
rc=0
fuzzlog="$work/fuzz.log"
for pkg in webhook config; do
  bin="$work/$pkg.fuzz"
  go test -c -fuzz=. -o "$bin" "./$pkg" || { echo "FAIL: build the fuzzers of $pkg"; rc=1; continue; }
  cache="$(go env GOCACHE)/fuzz/$(go list "./$pkg")"
  for f in $("$bin" -test.list '^Fuzz' | grep '^Fuzz' || true); do
    ok=no
    for try in 1 2 3; do
      if (cd "$pkg" && "$bin" -test.run='^$' -test.fuzz="^${f}\$" -test.fuzztime="${FUZZTIME:-20000x}" -test.fuzzcachedir="$cache") >"$fuzzlog" 2>&1; then ok=yes; break; fi
      tail -20 "$fuzzlog"
      if grep -q 'Failing input written to' "$fuzzlog"; then break; fi
      echo "fuzzing $f stopped without a failing input; trying once more"
    done
    [ "$ok" = yes ] || { echo "FAIL: fuzz $f"; rc=1; continue; }
    echo "fuzzed $f: $(grep -o 'execs: [0-9]*' "$fuzzlog" | tail -1)"
  done
done
end "$rc"
fi
if want bench; then
begin bench "poll benchmark (one cycle, ratio against the cheapest go-containerregistry loop)"
rc=0; scripts/bench-poll.sh -n 100,2000 -reps 3 || rc=$?
end "$rc"
fi
printf '%s\n' "${timings[@]}" >"$work/cpu.timings"
printf '%s\n' "${failed[@]}" >"$work/cpu.failed"
}
# cpu_steps (above) need no engine: vet, the engine-restart test's build, fuzz and the
# poll benchmark. They start as soon as one of go-test's lanes is done (the machine has
# a core to spare from then on), or at once without go-test.
cpu_pid=""
start_cpu_steps() {
  if [ -z "$cpu_pid" ] && { want vet || want fuzz || want bench || want restart; }; then
    echo "== vet, fuzz, bench: beside the next steps"
    cpu_steps >"$work/cpu.out" 2>&1 &
    cpu_pid=$!
  fi
}
if want go-test; then
begin go-test "three lanes at once, ${HOIST_TEST_PARALLEL:-4} end-to-end tests at once in each"
# -json for the summary of the slowest tests; each package's line is printed as it ends.
# The lanes take about as long as each other: cmd/hoist's three longest tests would
# start last in its own lane (go test starts parallel tests in no set order), so they
# start first in another one, before the Swarm backend's tests.
pkgs=$(go list ./...)
long='^(TestE2EComposeV1|TestE2EComposeV2|TestE2EBrowser)$'
cmd=$(grep '/cmd/hoist$' <<<"$pkgs")
# gotest NAME ARGS... runs go test one package after another, its output kept as NAME.
gotest() {
  local name=$1; shift
  go test -json -count=1 -timeout 30m -p 1 -parallel "${HOIST_TEST_PARALLEL:-4}" "$@" | tee "$work/test.$name.json" \
    | jq --unbuffered -r --arg lane "$name" 'select(.Test == null and (.Action == "pass" or .Action == "fail" or .Action == "skip")) | "\(if .Action == "pass" then "ok  " elif .Action == "skip" then "skip" else "FAIL" end)\t\(.Package)\t\(.Elapsed // 0)s\t(\($lane))"'
}
# lane NAME runs what follows it and notes its time.
lane() {
  local name=$1 t0=$SECONDS rc=0; shift
  "$@" || rc=$?
  echo "$name $((SECONDS - t0))" >>"$work/lanes"
  return "$rc"
}
lane_a() { gotest cmd -skip "$long" "$cmd"; }
lane_b() { local rc=0; gotest long -run "$long" "$cmd" || rc=$?; gotest swarm "$(grep '/updater/swarm$' <<<"$pkgs")" || rc=$?; return "$rc"; }
lane_c() { gotest rest $(grep -v -E '/cmd/hoist$|/updater/swarm$' <<<"$pkgs"); }
lane "cmd/hoist (but its three longest tests)" lane_a & pid_a=$!
lane "cmd/hoist's three longest tests, then updater/swarm" lane_b & pid_b=$!
lane "the other packages" lane_c & pid_c=$!
rc=0 first=""
wait -n -p first "$pid_a" "$pid_b" "$pid_c" || rc=$?
start_cpu_steps
for pid in "$pid_a" "$pid_b" "$pid_c"; do
  [ "$pid" = "$first" ] || wait "$pid" || rc=$?
done
pid_a="" pid_b="" pid_c=""
cat "$work"/test.*.json >"$work/test.json"
if [ "$rc" != 0 ]; then
  # The whole output of each failed test.
  for t in $(jq -r 'select(.Action == "fail" and .Test != null) | "\(.Package)|\(.Test)"' "$work/test.json" | sort -u); do
    jq -r --arg p "${t%%|*}" --arg t "${t#*|}" 'select(.Package == $p and .Test == $t and .Output != null) | .Output' "$work/test.json" | tr -d '\r'
  done
  jq -r 'select(.Test == null and .Output != null and (.Output | test("^(ok|PASS|\\?)") | not)) | .Output' "$work/test.json" | tail -50
fi
jq -r 'select((.Action == "pass" or .Action == "fail") and .Test != null and (.Test | contains("/") | not)) | "\(.Elapsed)\t\(.Package | sub(".*/hoist/"; ""))\t\(.Test)"' "$work/test.json" \
  | sort -rn | head -15 | awk -F'\t' '{printf "%7.1fs  %-18s %s\n", $1, $2, $3}' >"$work/slow" || true
# Per package: its wall time next to the time its tests took one after another.
jq -rs '(map(select(.Test == null and .Action == "pass")) | group_by(.Package) | map({key: .[0].Package, value: (map(.Elapsed) | max)}) | from_entries) as $wall
  | map(select((.Action == "pass" or .Action == "fail") and .Test != null and (.Test | contains("/") | not)))
  | group_by(.Package) | map({p: .[0].Package, n: length, sum: (map(.Elapsed) | add)}) | sort_by(-.sum) | .[:6][]
  | "\(.p | sub(".*/hoist/"; "")): \(.n) tests, \(.sum | floor)s one after another, \($wall[.p] // 0 | floor)s on the clock"' \
  "$work/test.json" >>"$work/slow" || true
sed 's/^\(.*\) \([0-9]*\)$/lane: \2s  \1/' "$work/lanes" >>"$work/slow" 2>/dev/null || true
if [ -n "${HOIST_TEST_JSON:-}" ]; then cp "$work/test.json" "$HOIST_TEST_JSON"; fi
end "$rc"
fi

start_cpu_steps
if want restart; then
begin restart "engine restart mid-rollout (restarts the engine, so it runs alone)"
rc=0
if [ "$own" = yes ]; then
  # cpu_steps builds the test's binary.
  while [ ! -e "$work/restart.built" ] && kill -0 "$cpu_pid" 2>/dev/null; do sleep 1; done
  if [ -x "$work/restart.test" ]; then
    (cd cmd/hoist && HOIST_ENGINE_RESTART="$PWD/../../scripts/engine.sh restart" \
      "$work/restart.test" -test.count=1 -test.timeout 10m -test.run '^TestE2EEngineRestartMidRollout$') || rc=$?
  else
    cat "$work/restart.build" 2>/dev/null || true; echo "FAIL: build the engine-restart test"; rc=1
  fi
elif [ "$CI" = true ]; then
  echo "FAIL: the engine-restart test needs the project's own engine (started by scripts/engine.sh, as test.sh and run.sh do); $DOCKER_HOST is someone else's (HOIST_ENGINE_PRIVATE=1 starts a private one)"; rc=1
else
  echo "not run: it would restart an engine scripts/engine.sh did not start ($DOCKER_HOST)"
fi
end "$rc"
fi
if want image; then
begin image "container image"
rc=0; { scripts/build-image.sh hoist:test && docker run --rm hoist:test version; } || rc=$?
end "$rc"
fi
if [ -n "$cpu_pid" ]; then
  echo "== vet, fuzz, bench (waiting for them)"
  wait "$cpu_pid" || true
  cpu_pid=""
  cat "$work/cpu.out"
  [ -f "$work/cpu.timings" ] || { echo "FAIL: vet, fuzz and bench stopped early"; failed+=(vet/fuzz/bench); }
  while IFS= read -r l; do [ -z "$l" ] || timings+=("$l"); done < <(cat "$work/cpu.timings" 2>/dev/null)
  while IFS= read -r l; do [ -z "$l" ] || failed+=("$l"); done < <(cat "$work/cpu.failed" 2>/dev/null)
fi
if [ -n "$cluster_pid" ]; then
  step_name=cluster step_t0=$cluster_t0
  echo "== cluster (waiting for it)"
  rc=0; wait "$cluster_pid" || rc=$?
  cluster_pid=""
  cat "$work/cluster.out"
  grep -E '^(--- |ok|FAIL)|e2e_cluster' "$work/cluster.log" | grep -v '^ *{' || true
  [ "$rc" = 0 ] || { tail -200 "$work/cluster.log"; echo "FAIL: cluster tests"; }
  # Its own time, not the wait for it.
  if [ -s "$work/cluster.took" ]; then step_t0=$((SECONDS - $(cat "$work/cluster.took"))); fi
  end "$rc"
elif want cluster && [ "$CI" = true ]; then
  step_name=cluster step_t0=$SECONDS
  echo "FAIL: the multi-node cluster needs root (network namespaces, a bridge)"; end 1
elif want cluster; then
  echo "not run: the multi-node cluster needs root"
fi

summary
if [ ${#failed[@]} -gt 0 ]; then echo "FAIL: ${failed[*]}"; exit 1; fi
echo "PASS"
