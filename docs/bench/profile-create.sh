#!/usr/bin/env bash
# Profiles the service under the create load of docs/bench/http.sh: starts
# it with FILELINKS_DEBUG_ADDR, runs wrk with docs/bench/create.lua for 12 s
# (2 threads, CONN connections, default 32) and takes an 8 s CPU profile in the middle,
# written to ${PROFILE:-/tmp/create.prof}. Read it with
#   go tool pprof -top -cum /tmp/create.prof
# LUA=another.lua runs another wrk script (for instance create.lua without
# its Idempotency-Key line). Needs wrk and curl. The profile costs a few
# percent of throughput, so compare req/s only between runs of this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${PROFILE:-/tmp/create.prof}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
. docs/bench/service.sh
start_service FILELINKS_DEBUG_ADDR=127.0.0.1:16060
(sleep 2; curl -fs "http://127.0.0.1:16060/debug/pprof/profile?seconds=8" >"$PROFILE") &
PROF=$!
wrk -t2 -c"${CONN:-32}" -d12s --latency -s "${LUA:-docs/bench/create.lua}" http://127.0.0.1:18080 | grep -E 'Requests/sec|Latency|99%|50%|Non-2xx'
wait $PROF
echo "profile: $PROFILE"
