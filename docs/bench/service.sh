# Sourced by the create and retrieve benchmark scripts (http.sh,
# profile-create.sh, create-growth.sh). start_service builds cmd/api into
# $tmp, starts it on 127.0.0.1:18080 with a data directory in $tmp and a
# benchmark key, with any VAR=value arguments (and the caller's FILELINKS_*
# settings) added to its environment, waits until it is ready and uploads a
# small PDF. It sets API_PID and exports KEY and FILE_ID.
start_service() {
  go build -o "$tmp/api" ./cmd/api
  KEY=sk_test_benchmark_key_0001
  env FILELINKS_DATA_DIR="$tmp/data" FILELINKS_HTTP_ADDR=127.0.0.1:18080 FILELINKS_NATS_LISTEN=127.0.0.1:-1 \
    FILELINKS_API_KEYS=$KEY FILELINKS_LOG_LEVEL=warn "$@" "$tmp/api" >"$tmp/api.log" 2>&1 &
  API_PID=$!
  for i in $(seq 100); do curl -fs 127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
  printf '%%PDF-1.4 benchmark' >"$tmp/f.pdf"
  FILE_ID=$(curl -fs 127.0.0.1:18080/v1/files -u "$KEY:" -F purpose=dispute_evidence -F file=@"$tmp/f.pdf" | sed 's/.*"id":"\(file_[^"]*\)".*/\1/' | head -c 64)
  export KEY FILE_ID
}
