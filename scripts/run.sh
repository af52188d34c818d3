#!/usr/bin/env bash
# Runs hoist serve with examples/hoist.yaml against a Docker engine in Swarm mode
# (a private one is started when none is reachable; on a fresh Debian machine run as
# root so docker.io can be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dockerd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
eval "$(scripts/engine.sh start)"
export DOCKER_HOST
exec go run ./cmd/hoist serve --config "${1:-examples/hoist.yaml}"
