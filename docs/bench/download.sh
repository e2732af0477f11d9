#!/usr/bin/env bash
# The download benchmark of docs/benchmarks.md: a 100 MiB file through a
# public link, against net/http's ServeContent serving the same bytes from a
# local file (internal/cmd/baseline -file), in the same run on loopback; then
# 32 concurrent downloads while the service's peak RSS is read. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${DUR:-15s}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/api" ./cmd/api
go build -o "$tmp/baseline" ./internal/cmd/baseline
head -c $((100 << 20)) /dev/urandom >"$tmp/big.bin"
KEY=sk_test_benchmark_key_0001
FILELINKS_DATA_DIR=$tmp/data FILELINKS_HTTP_ADDR=127.0.0.1:18080 FILELINKS_NATS_LISTEN=127.0.0.1:-1 \
  FILELINKS_API_KEYS=$KEY FILELINKS_LOG_LEVEL=warn FILELINKS_MAX_UPLOAD_BYTES=$((200 << 20)) \
  FILELINKS_LINK_RATE=100000 FILELINKS_LINK_BURST=100000 "$tmp/api" >"$tmp/api.log" 2>&1 &
API_PID=$!
"$tmp/baseline" -addr 127.0.0.1:18090 -file "$tmp/big.bin" &
for i in $(seq 100); do curl -fs 127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
URL=$(curl -fs 127.0.0.1:18080/v1/files -u "$KEY:" -F purpose=dispute_evidence -F file=@"$tmp/big.bin" \
  -F 'file_link_data[create]=true' | grep -o '"url":"http://localhost:8080/links/[^"]*"' | head -1 | cut -d'"' -f4)
LINK=http://127.0.0.1:18080${URL#http://localhost:8080}
cmp <(curl -fs "$LINK") "$tmp/big.bin" && echo "link serves the exact bytes"
rss() { awk '/VmRSS|VmHWM/ {printf "%s %d MiB  ", $1, $2/1024} END {print ""}' /proc/$API_PID/status; }
echo "service after upload: $(rss)"
run() { echo "== $1"; shift; wrk -t1 "$@" | grep -E 'Requests/sec|Transfer/sec|Latency '; }
for c in 1 4; do
  run "baseline ServeContent, local file, $c connection(s)" -c$c -d"$DUR" http://127.0.0.1:18090/file
  run "public link, $c connection(s)" -c$c -d"$DUR" "$LINK"
done
echo "== 32 concurrent downloads of the link"
wrk -t2 -c32 -d"$DUR" "$LINK" | grep -E 'Requests/sec|Transfer/sec'
echo "service peak: $(rss)"
