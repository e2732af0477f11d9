#!/usr/bin/env bash
# The download benchmark of docs/benchmarks.md: a 100 MiB file through a
# public link, against net/http's ServeContent serving the same bytes from a
# local file (docs/bench/baseline -file), in the same run on loopback; then
# 32 concurrent downloads while the service's memory is read. Needs wrk
# (apt-get install wrk) and curl.
#
#   DUR=15s     length of each wrk run
#   ROUNDS=1    baseline/link pairs per connection count; on a shared machine
#               more rounds, alternating, show how much the ratio moves
#   CACHE=      FILELINKS_CACHE_BYTES for the service (default: the service's
#               default, 1 GiB); CACHE=0 measures the path without the disk
#               cache, every byte streamed from JetStream
#
# For each pair it prints "ratio" = link MB/s / baseline MB/s. For the 32
# downloads it resets the service's peak RSS (VmHWM, via clear_refs) just
# before, so the peak covers those downloads and not the upload, samples
# VmRSS every 0.2s during them, and prints both.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${DUR:-15s}
ROUNDS=${ROUNDS:-1}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/api" ./cmd/api
go build -o "$tmp/baseline" ./docs/bench/baseline
head -c $((100 << 20)) /dev/urandom >"$tmp/big.bin"
KEY=sk_test_benchmark_key_0001
FILELINKS_DATA_DIR=$tmp/data FILELINKS_HTTP_ADDR=127.0.0.1:18080 FILELINKS_NATS_LISTEN=127.0.0.1:-1 \
  FILELINKS_API_KEYS=$KEY FILELINKS_LOG_LEVEL=warn FILELINKS_MAX_UPLOAD_BYTES=$((200 << 20)) \
  FILELINKS_LINK_RATE=100000 FILELINKS_LINK_BURST=100000 env ${CACHE:+FILELINKS_CACHE_BYTES=$CACHE} "$tmp/api" >"$tmp/api.log" 2>&1 &
API_PID=$!
"$tmp/baseline" -addr 127.0.0.1:18090 -file "$tmp/big.bin" &
BASE_PID=$!
for i in $(seq 100); do curl -fs 127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
sleep 0.2
for p in $API_PID $BASE_PID; do # not some other process on the same ports
  kill -0 $p 2>/dev/null || { cat "$tmp/api.log"; echo "a server did not start; are ports 18080/18090 free?" >&2; exit 1; }
done
URL=$(curl -fs 127.0.0.1:18080/v1/files -u "$KEY:" -F purpose=dispute_evidence -F file=@"$tmp/big.bin" \
  -F 'file_link_data[create]=true' | grep -o '"url":"http://localhost:8080/links/[^"]*"' | head -1 | cut -d'"' -f4)
LINK=http://127.0.0.1:18080${URL#http://localhost:8080}
cmp <(curl -fs "$LINK") "$tmp/big.bin" && echo "link serves the exact bytes"
kib() { awk -v k="$1" '$1 == k":" {print $2}' /proc/$API_PID/status; }
rss() { echo "VmHWM: $(($(kib VmHWM) / 1024)) MiB  VmRSS: $(($(kib VmRSS) / 1024)) MiB"; }
echo "service after upload: $(rss)"
sleep 1 # the first download filled the disk cache (unless CACHE=0)
echo "disk cache: $(ls "$tmp/data/cache" 2>/dev/null | wc -l) file(s)"
# mbps prints wrk's lines and leaves its Transfer/sec in MB/s in $MBPS.
mbps() {
  local out
  out=$(wrk "$@")
  grep -E 'Requests/sec|Transfer/sec|Latency ' <<<"$out"
  MBPS=$(awk '/Transfer\/sec/ {v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[A-Za-z]+$/, "", v)
    print v * (u == "GB" ? 1024 : u == "KB" ? 1 / 1024 : u == "B" ? 1 / 1048576 : 1)}' <<<"$out")
}
for c in 1 4; do
  for r in $(seq "$ROUNDS"); do
    echo "== baseline ServeContent, local file, $c connection(s)"
    mbps -t1 -c$c -d"$DUR" http://127.0.0.1:18090/file
    base=$MBPS
    echo "== public link, $c connection(s)"
    mbps -t1 -c$c -d"$DUR" "$LINK"
    echo "ratio $c connection(s): $(awk -v l="$MBPS" -v b="$base" 'BEGIN {printf "%.2f (link %.0f MB/s, baseline %.0f MB/s)", l / b, l, b}')"
  done
done
echo "== 32 concurrent downloads of the link"
echo "service before: $(rss)"
echo 5 >/proc/$API_PID/clear_refs # resets VmHWM to the current RSS
(while kill -0 $API_PID 2>/dev/null; do kib VmRSS; sleep 0.2; done) >"$tmp/rss" &
SAMPLER=$!
wrk -t2 -c32 -d"$DUR" "$LINK" | grep -E 'Requests/sec|Transfer/sec'
kill $SAMPLER
echo "service during: peak $(rss)  VmRSS samples: $(sort -n "$tmp/rss" | awk '{a[NR] = $1} END {printf "min %d median %d max %d MiB (%d samples)", a[1] / 1024, a[int((NR + 1) / 2)] / 1024, a[NR] / 1024, NR}')"
