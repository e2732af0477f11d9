#!/usr/bin/env bash
# Profiles the service under the create load of docs/bench/http.sh: starts
# it with FILELINKS_DEBUG_ADDR, runs wrk with docs/bench/create.lua for 12 s
# (2 threads, 32 connections) and takes an 8 s CPU profile in the middle,
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
go build -o "$tmp/api" ./cmd/api
KEY=sk_test_benchmark_key_0001
FILELINKS_DATA_DIR=$tmp/data FILELINKS_HTTP_ADDR=127.0.0.1:18080 FILELINKS_NATS_LISTEN=127.0.0.1:-1 \
  FILELINKS_DEBUG_ADDR=127.0.0.1:16060 FILELINKS_API_KEYS=$KEY FILELINKS_LOG_LEVEL=warn "$tmp/api" >"$tmp/api.log" 2>&1 &
for i in $(seq 100); do curl -fs 127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
printf '%%PDF-1.4 benchmark' >"$tmp/f.pdf"
FILE_ID=$(curl -fs 127.0.0.1:18080/v1/files -u "$KEY:" -F purpose=dispute_evidence -F file=@"$tmp/f.pdf" | sed 's/.*"id":"\(file_[^"]*\)".*/\1/' | head -c 64)
export KEY FILE_ID
(sleep 2; curl -fs "http://127.0.0.1:16060/debug/pprof/profile?seconds=8" >"$PROFILE") &
PROF=$!
wrk -t2 -c32 -d12s --latency -s "${LUA:-docs/bench/create.lua}" http://127.0.0.1:18080 | grep -E 'Requests/sec|Latency|99%|50%|Non-2xx'
wait $PROF
echo "profile: $PROFILE"
