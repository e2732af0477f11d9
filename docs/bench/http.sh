#!/usr/bin/env bash
# The HTTP benchmark of docs/benchmarks.md: wrk against the running service
# and, in the same run, against a trivial Gin handler (docs/bench/baseline),
# on this machine's loopback. Needs wrk (apt-get install wrk).
# Settings: DUR (per run, default 15s), CONN (connections, 32), THREADS
# (wrk threads, 2), ROUNDS (default 1; see below); the service's own
# FILELINKS_* settings pass through.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${DUR:-15s}
CONN=${CONN:-32}
THREADS=${THREADS:-2}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
. docs/bench/service.sh
go build -o "$tmp/baseline" ./docs/bench/baseline
"$tmp/baseline" -addr 127.0.0.1:18090 &
start_service
LINK_ID=$(curl -fs 127.0.0.1:18080/v1/file_links -u "$KEY:" -d file="$FILE_ID" | sed 's/^{"id":"\([^"]*\)".*/\1/')
run() { echo "== $1"; shift; wrk -t"$THREADS" -c"$CONN" -d"$DUR" --latency "$@" | tee "$tmp/wrk.out" | grep -E 'Requests/sec|Latency|99%|50%|Non-2xx'; }
rps() { awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out"; }
# ROUNDS > 1 repeats the four runs, so that each ratio compares runs made
# seconds apart (this machine's speed drifts by tens of percent over
# minutes), and prints every round's ratios and their medians.
ROUNDS=${ROUNDS:-1}
: >"$tmp/ratios"
for r in $(seq "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "### round $r of $ROUNDS"
  run "baseline GET (trivial gin handler)" http://127.0.0.1:18090/v1/file_links/link_x; bg=$(rps)
  run "retrieve GET /v1/file_links/:id" -s docs/bench/get.lua "http://127.0.0.1:18080/v1/file_links/$LINK_ID"; rg=$(rps)
  run "baseline POST (trivial gin handler)" -s docs/bench/create.lua http://127.0.0.1:18090; bp=$(rps)
  run "create POST /v1/file_links" -s docs/bench/create.lua http://127.0.0.1:18080; cp=$(rps)
  awk -v bg="$bg" -v rg="$rg" -v bp="$bp" -v cp="$cp" 'BEGIN { printf "ratios: retrieve %.1f %%  create %.1f %%\n", 100*rg/bg, 100*cp/bp }' | tee -a "$tmp/ratios"
done
if [ "$ROUNDS" -gt 1 ]; then
  for f in 3:retrieve 6:create; do
    awk -v f="${f%%:*}" '{print $f}' "$tmp/ratios" | sort -n |
      awk -v n="${f#*:}" '{a[NR]=$1} END {printf "median %s ratio: %.1f %%\n", n, a[int((NR+1)/2)]}'
  done
fi
