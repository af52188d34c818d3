#!/usr/bin/env bash
# With no argument (or only flags): hoist demo — a registry, a web app and three
# rollouts on this machine, told as they happen; Ctrl-C removes everything. Flags go to
# the demo (./scripts/run.sh --yes; see hoist demo --help). With a config file: hoist
# serve with it. Both use the Docker engine at DOCKER_HOST or /var/run/docker.sock, or
# start a private one in Swarm mode (on a fresh Debian machine run as root so docker.io
# can be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dockerd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
eval "$(scripts/engine.sh start)"
export DOCKER_HOST
# Static: the demo's images have this binary as their only layer.
bin="${TMPDIR:-/tmp}/hoist-run/hoist"
mkdir -p "$(dirname "$bin")"
CGO_ENABLED=0 go build -o "$bin" ./cmd/hoist
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  exec "$bin" demo "$@"
fi
exec "$bin" serve --config "$1"
