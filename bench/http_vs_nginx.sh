#!/usr/bin/env bash
# HTTP benchmark: the actor-routed GET /api/v1/version against nginx
# answering `return 200` on loopback, both driven by wrk with the same
# keep-alive load in the same run. Prints requests/s and p99 for each and the
# ratio. Usage: bench/http_vs_nginx.sh [DURATION_S] [CONNECTIONS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

duration="${1:-10}"
connections="${2:-64}"
threads="${WRK_THREADS:-2}"

fp_require_packages wrk nginx-light curl python3
"$FP_ROOT/scripts/setup.sh"
FP_BUILD_TARGET=fleetprompt "$FP_ROOT/scripts/build.sh"

work="$(mktemp -d /tmp/fp-bench-http.XXXXXX)"
fp_pid=""
nginx_pid=""
cleanup() {
  [ -n "$fp_pid" ] && kill -TERM "$fp_pid" 2>/dev/null && wait "$fp_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {
  local url="$1"
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  fp_die "no answer from $url"
}

# -- the server under test ---------------------------------------------------
fp_port="$(free_port)"
"$FP_BUILD_DIR/app/fleetprompt" serve --data-dir "$work/data" \
  --listen "127.0.0.1:$fp_port" --log-level warn >"$work/fleetprompt.log" 2>&1 &
fp_pid=$!
wait_http "http://127.0.0.1:$fp_port/readyz"

# -- the ceiling: nginx ------------------------------------------------------
nginx_port="$(free_port)"
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"name":"nginx"}'; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
wait_http "http://127.0.0.1:$nginx_port/"

# run_wrk URL -> "RPS P99_MS"
run_wrk() {
  local out
  out="$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$1")"
  echo "$out" >>"$work/wrk.log"
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  # wrk prints latency as e.g. 812.00us, 1.52ms, 1.01s
  p99="$(awk -v v="$p99" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print "nan" }')"
  echo "$rps $p99"
}

# Warm both up, then measure.
wrk -t1 -c8 -d2s "http://127.0.0.1:$fp_port/api/v1/version" >/dev/null
wrk -t1 -c8 -d2s "http://127.0.0.1:$nginx_port/" >/dev/null
read -r fp_rps fp_p99 < <(run_wrk "http://127.0.0.1:$fp_port/api/v1/version")
read -r ng_rps ng_p99 < <(run_wrk "http://127.0.0.1:$nginx_port/")

ratio="$(awk -v a="$fp_rps" -v b="$ng_rps" 'BEGIN { printf "%.2f", a / b }')"
echo
echo "HTTP benchmark: wrk -t$threads -c$connections -d${duration}s, keep-alive, loopback, $(nproc) cores"
printf '%-44s %12s %10s\n' "target" "requests/s" "p99 ms"
printf '%-44s %12.0f %10s\n' "fleetprompt GET /api/v1/version (actor)" "$fp_rps" "$fp_p99"
printf '%-44s %12.0f %10s\n' "nginx return 200 (ceiling)" "$ng_rps" "$ng_p99"
echo "ratio fleetprompt/nginx: ${ratio}x (target >= 0.5x)"
