#!/usr/bin/env bash
# Prints what the dashboard's first view transfers: headless Chromium logs in to a real
# hoist serve (three services on a private Swarm engine), clears its cache, loads the
# workloads page and sums the bytes of every response (headers included) as DevTools
# reports them. The events stream stays open and is not counted. The test fails above
# 150 KiB. Needs Debian's chromium and what scripts/test.sh needs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "ui-bytes.sh: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
eval "$(scripts/engine.sh start)"
export DOCKER_HOST
out=$(CI=true go test -count=1 -v -run 'TestE2EBrowser$/^(login|together)$/^first-view$' ./cmd/hoist 2>&1) || { echo "$out" | grep -v '^{' | tail -40 >&2; exit 1; }
echo "$out" | grep -E '^first view: |first view: .*requests' | sed 's/^ *e2e_browser_test.go:[0-9]*: //'
