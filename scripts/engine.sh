#!/usr/bin/env bash
# Starts a private Docker engine in Swarm mode when none is reachable, and prints the
# DOCKER_HOST to use. `engine.sh stop` stops the engine this script started.
#
#   eval "$(scripts/engine.sh start)"   # exports DOCKER_HOST
#   scripts/engine.sh stop
#   scripts/engine.sh restart           # stop and start it again, Swarm state kept
#   scripts/engine.sh owned             # exit 0 when DOCKER_HOST is an engine this script started
#
# With HOIST_ENGINE_PRIVATE=1 only the private engine counts: an engine the caller
# already has is not used (CI tests against the engine it starts, and restarts it).
# An engine it starts is marked ($root/started-by-engine.sh holds its dockerd's pid), so
# scripts/test.sh knows it is the project's own, whichever script started it
# (scripts/run.sh leaves it running), and may restart it.
set -euo pipefail

root=${HOIST_ENGINE_DIR:-/tmp/hoist-engine}
sock="$root/docker.sock"
marker="$root/started-by-engine.sh"

reachable() { DOCKER_HOST="$1" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_swarm() {
  local state
  state=$(DOCKER_HOST="$1" docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)
  if [ "$state" != "active" ]; then
    DOCKER_HOST="$1" docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
}

start() {
  # An engine the caller already has wins.
  local hosts=("${DOCKER_HOST:-}" "unix:///var/run/docker.sock" "unix://$sock")
  if [ "${HOIST_ENGINE_PRIVATE:-}" = 1 ]; then hosts=("unix://$sock"); fi
  for h in "${hosts[@]}"; do
    [ -n "$h" ] || continue
    if reachable "$h"; then ensure_swarm "$h"; echo "export DOCKER_HOST=$h"; return 0; fi
  done
  command -v dockerd >/dev/null || { echo "engine.sh: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
  mkdir -p "$root"
  # cgroup v1 hosts need the hierarchy mounted; harmless elsewhere.
  if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && command -v cgroupfs-mount >/dev/null; then cgroupfs-mount || true; fi
  launch
  ensure_swarm "unix://$sock"
  echo "export DOCKER_HOST=unix://$sock"
}

# launch starts dockerd on $root and waits until it answers.
launch() {
  nohup dockerd \
    --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/dockerd.pid" \
    --host "unix://$sock" --storage-driver overlay2 \
    >>"$root/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    if reachable "unix://$sock"; then cp "$root/dockerd.pid" "$marker"; return 0; fi
    sleep 1
  done
  echo "engine.sh: dockerd did not come up; last log lines:" >&2
  tail -20 "$root/dockerd.log" >&2
  exit 1
}

# restart stops this script's engine as a node reboot would (its containers stop, the
# Swarm state stays) and starts it again. Tests use it to restart the engine mid-rollout.
restart() {
  [ -f "$root/dockerd.pid" ] || { echo "engine.sh: no engine started by this script to restart" >&2; exit 1; }
  local pid; pid=$(cat "$root/dockerd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$root/dockerd.pid" "$marker"
  containerd_gone
  shims_gone
  launch
}

# containerd_gone waits until the containerd the stopped dockerd ran has exited too
# (killing it after 30 s), as on a node that reboots: a dockerd started while it still
# runs takes it over, and loses it a moment later, with the containers it was starting.
containerd_gone() {
  local f="$root/exec/containerd/containerd.pid" cpid
  [ -f "$f" ] || return 0
  cpid=$(cat "$f")
  [ -n "$cpid" ] || return 0
  for _ in $(seq 1 60); do kill -0 "$cpid" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$cpid" 2>/dev/null || true
}

# shims_gone kills what a reboot would take too and the stopped engine left: the shims
# of this engine's containerd (dockerd stops the running containers itself; a shim left
# is one of a container it was still starting). The next containerd cleans up after them
# instead of keeping their tasks, which would refuse every later start of the container.
shims_gone() {
  local p
  for p in $(pgrep -f -- "-address $root/exec/containerd/containerd.sock" || true); do
    kill -9 "$p" 2>/dev/null || true
  done
}

# owned: the engine at DOCKER_HOST (default: this script's socket) is one this script
# started and still runs: its marker names the running dockerd's pid.
owned() {
  [ "${DOCKER_HOST:-unix://$sock}" = "unix://$sock" ] || return 1
  [ -f "$marker" ] && [ -f "$root/dockerd.pid" ] || return 1
  local pid; pid=$(cat "$root/dockerd.pid")
  [ "$(cat "$marker")" = "$pid" ] && kill -0 "$pid" 2>/dev/null && reachable "unix://$sock"
}

stop() {
  [ -f "$root/dockerd.pid" ] || return 0
  local pid; pid=$(cat "$root/dockerd.pid")
  DOCKER_HOST="unix://$sock" docker swarm leave --force >/dev/null 2>&1 || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 "$pid" 2>/dev/null || true
  pkill -f "containerd.*$root" 2>/dev/null || true
  # Mounts the engine left behind (overlay layers, netns) would keep $root busy.
  grep " $root/" /proc/mounts 2>/dev/null | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -f "$root/dockerd.pid" "$marker"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  owned) owned ;;
  *) echo "usage: engine.sh start|stop|restart|owned" >&2; exit 2 ;;
esac
