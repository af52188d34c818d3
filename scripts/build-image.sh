#!/usr/bin/env bash
# Builds hoist's container image without pulling a base image: a static binary built
# here, plus the host's CA certificates, in a FROM scratch image.
#   scripts/build-image.sh [TAG]     (default hoist:latest)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-hoist:latest}
ver=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o "$ctx/hoist" ./cmd/hoist
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cp Dockerfile "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
echo "built $tag ($ver)"
