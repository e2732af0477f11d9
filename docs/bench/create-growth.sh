#!/usr/bin/env bash
# Does create slow down as the store grows? Starts one service and runs
# ROUNDS (default 6) create-only wrk runs of DUR (8s) back to back against
# it, printing for each the requests/s, the API process's CPU time per
# create (from /proc/<pid>/stat) and its resident memory. PROF=n takes a
# 6 s CPU profile during round n (/tmp/create-growth-n.prof); a heap
# profile is written at the end (/tmp/create-growth-heap.prof). CONN
# (32), LUA (docs/bench/create.lua) and the service's FILELINKS_*
# settings pass through. Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
. docs/bench/service.sh
start_service FILELINKS_DEBUG_ADDR=127.0.0.1:16060
pid=$API_PID
for r in $(seq "${ROUNDS:-6}"); do
  c0=$(awk '{print $14+$15}' /proc/$pid/stat)
  if [ "${PROF:-}" = "$r" ]; then
    (sleep 1; curl -fs "http://127.0.0.1:16060/debug/pprof/profile?seconds=6" >"/tmp/create-growth-$r.prof") &
  fi
  out=$(wrk -t2 -c"${CONN:-32}" -d"${DUR:-8s}" -s "${LUA:-docs/bench/create.lua}" http://127.0.0.1:18080)
  c1=$(awk '{print $14+$15}' /proc/$pid/stat)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  echo "round $r: $rps creates/s, API CPU $(( (c1-c0)*10000000 / reqs / 1000 )) us per create, RSS $(awk '/VmRSS/ {print $2}' /proc/$pid/status) kB"
done
curl -fs "http://127.0.0.1:16060/debug/pprof/heap?gc=1" >/tmp/create-growth-heap.prof || true
