#!/usr/bin/env bash
# Spine benchmark: signal ingest, the job queue and SSE fan-out, each figure
# beside a baseline measured in the same run on the same PostgreSQL (the
# server's embedded cluster, fsync and synchronous_commit on):
#   1. ingest, one signal per request, 64 keep-alive connections (wrk)
#      vs pgbench inserting one row per transaction (ON CONFLICT DO
#      NOTHING, 16 clients) into a comparable table;
#   2. ingest, 100 signals per request vs pgbench with 100 rows per
#      transaction;
#   3. no-op jobs: jobs/s draining N pre-enqueued jobs, and enqueue-to-start
#      latency when idle and at 3,000 jobs/s offered, vs graphile-worker
#      (npm) in its batched configuration on the same database;
#   4. SSE fan-out: subscribers on GET /api/v1/signals/stream, one signal
#      every 10 ms: delivery latency and server memory per subscriber.
# Stored signals are counted in the database, not taken from HTTP answers.
#
# Usage: bench/spine.sh [INGEST_S] [SSE_S] [SUBSCRIBERS] [JOBS]
#        (defaults 10, 10, 10000, 20000)
# Runs on FP_BUILD_DIR's binaries (default build/); FP_SKIP_BUILD=1 skips
# building them; FP_SPINE_PARTS (default "ingest jobs sse") picks parts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ingest_s="${1:-10}"
sse_s="${2:-10}"
subscribers="${3:-10000}"
jobs="${4:-20000}"
connections=64
pgbench_clients=16
threads="${WRK_THREADS:-2}"
load_rate=3000
load_s=5
idle_rate=20
idle_s=5
pg_bin=/usr/lib/postgresql/15/bin
spine="$FP_ROOT/bench/spine"
parts="${FP_SPINE_PARTS:-ingest jobs sse}"
command_line="bench/spine.sh $ingest_s $sse_s $subscribers $jobs"
part() { [[ " $parts " == *" $1 "* ]]; }

fp_require_packages wrk postgresql-15 postgresql-client-15 curl python3
# Node.js may come from elsewhere than Debian (e.g. NodeSource, npm included).
command -v node >/dev/null 2>&1 || fp_require_packages nodejs npm
"$FP_ROOT/scripts/setup.sh"
# FP_SKIP_BUILD=1 uses the binaries already in FP_BUILD_DIR.
if [ "${FP_SKIP_BUILD:-}" != 1 ]; then
  for target in fleetprompt spine_jobs spine_sse_fanout; do
    FP_BUILD_TARGET=$target "$FP_ROOT/scripts/build.sh"
  done
fi
fp_npm_ci "$spine/graphile"
fp_bin="$FP_BUILD_DIR/app/fleetprompt"

# -- limits: every subscriber is a socket in the client and in the server ----
need_fds=$((subscribers + 4096))
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need_fds" ]; then
  ulimit -Hn "$need_fds" 2>/dev/null \
    || fp_die "the open-file hard limit ($hard) is below $need_fds; raise it (limits.conf) or run as root"
fi
ulimit -Sn "$need_fds"
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
if [ $((port_hi - port_lo)) -lt $((subscribers + 2000)) ]; then
  fp_say "widening the local port range for $subscribers loopback connections"
  fp_as_root sysctl -q -w net.ipv4.ip_local_port_range="1024 65000"
fi

work="$(mktemp -d /tmp/fp-bench-spine.XXXXXX)"
# The embedded cluster may run as an unprivileged user (when started as root).
chmod 755 "$work"
fp_pid=""
graphile_pid=""
# Raw outputs (wrk, pgbench, drivers, server log) are kept in bench/results/.
results="$FP_ROOT/bench/results/spine-$(date -u +%Y%m%dT%H%M%SZ)"
cleanup() {
  [ -n "$graphile_pid" ] && kill -TERM "$graphile_pid" 2>/dev/null || true
  [ -n "$fp_pid" ] && kill -TERM "$fp_pid" 2>/dev/null && wait "$fp_pid" 2>/dev/null || true
  mkdir -p "$results"
  find "$work" -maxdepth 1 -type f ! -name password ! -name cookies \
    -exec cp {} "$results/" \; 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
json_field() { # json_field FIELD < json
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# value NAME FILE: the value of a "name value" line
value() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "n/a" : v) }' "$2"; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2fx", a / b; else print "n/a" }'
}
fail_with_log() {
  echo "--- server log (tail) ---" >&2
  tail -n 30 "$work/fleetprompt.log" >&2 || true
  fp_die "$1"
}

# -- the server under test, on its embedded PostgreSQL ---------------------------
fp_port="$(free_port)"
base="http://127.0.0.1:$fp_port"
fp_say "starting fleetprompt on $base"
"$fp_bin" serve --data-dir "$work/data" --listen "127.0.0.1:$fp_port" \
  --log-level warn --max-connections $((subscribers + 1000)) \
  >"$work/fleetprompt.log" 2>&1 &
fp_pid=$!
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
  kill -0 "$fp_pid" 2>/dev/null || fail_with_log "fleetprompt exited"
  sleep 0.1
done
curl -fsS -o /dev/null "$base/readyz" || fail_with_log "fleetprompt is not ready"
db_url="postgresql://fleetprompt:$(tr -d '\n' <"$work/data/postgres/password")@127.0.0.1:$(tr -d '\n' <"$work/data/postgres/port")/fleetprompt"
sql() { "$pg_bin/psql" -Atq -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }
[ "$(sql 'SHOW synchronous_commit')" = on ] || fp_die "synchronous_commit is not on"
[ "$(sql 'SHOW fsync')" = on ] || fp_die "fsync is not on"

# -- an organization and an API key (read, write) --------------------------------
fp_say "creating the benchmark organization and API key"
printf 'bench-password-%s\n' "$RANDOM$RANDOM" >"$work/password"
"$fp_bin" user create --data-dir "$work/data" --email bench@example.com \
  --password-file "$work/password" >/dev/null
"$fp_bin" org create --data-dir "$work/data" --slug bench --name Bench \
  --owner bench@example.com >/dev/null
jar="$work/cookies"
login="$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$(head -n1 "$work/password")\"}" \
  "$base/api/v1/session")"
csrf="$(json_field csrf_token <<<"$login")"
curl -fsS -b "$jar" -o /dev/null -H 'Content-Type: application/json' \
  -H "X-CSRF-Token: $csrf" -d '{"org":"bench"}' "$base/api/v1/session/org"
key="$(curl -fsS -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
  -d '{"name":"bench","scopes":["read","write"]}' "$base/api/v1/api-keys" | json_field key)"
probe="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"type":"bench.probe","payload":{}}' \
  "$base/api/v1/signals")"
case "$probe" in 2??) ;; *) fail_with_log "POST /api/v1/signals answered $probe" ;; esac

# -- 1 and 2: ingest --------------------------------------------------------------
PGOPTIONS='-c client_min_messages=warning' "$pg_bin/psql" -q -v ON_ERROR_STOP=1 \
  -f "$spine/baseline.sql" "$db_url"
count_fp() { sql "SELECT count(*) FROM org_bench.signals WHERE type = 'bench.ingest'"; }
count_pg() { sql "SELECT count(*) FROM bench_baseline.signals"; }

# run_wrk BATCH SECONDS RUN_ID -> stores the wrk output in $work/wrk-RUN_ID
run_wrk() {
  FP_BENCH_KEY="$key" FP_BENCH_BATCH="$1" FP_BENCH_RUN="$3" \
    wrk -t"$threads" -c"$connections" -d"$2s" --timeout 30s --latency -s "$spine/ingest.lua" \
    "$base/api/v1/signals" >"$work/wrk-$3"
}
# ingest_fp BATCH -> "STORED_PER_S HTTP_ERRORS"
ingest_fp() {
  run_wrk "$1" 2 "warm$1" # warm-up
  sql CHECKPOINT
  local before after errors
  before="$(count_fp)"
  run_wrk "$1" "$ingest_s" "run$1"
  after="$(count_fp)"
  errors="$(awk '/Non-2xx/ { print $NF } /Socket errors/ { print }' "$work/wrk-run$1" | tr '\n' ' ')"
  echo "$(awk -v a="$after" -v b="$before" -v s="$ingest_s" 'BEGIN { printf "%.0f", (a - b) / s }') ${errors:-0}"
}
# ingest_pg SCRIPT ROWS_PER_TX -> "STORED_PER_S"
ingest_pg() {
  "$pg_bin/pgbench" -n -c"$pgbench_clients" -j"$threads" -T2 -M prepared \
    -f "$spine/$1" "$db_url" >/dev/null 2>&1 # warm-up
  sql CHECKPOINT
  local before after
  before="$(count_pg)"
  "$pg_bin/pgbench" -n -c"$pgbench_clients" -j"$threads" -T"$ingest_s" -M prepared \
    -f "$spine/$1" "$db_url" >"$work/pgbench-$1" 2>&1 \
    || { cat "$work/pgbench-$1" >&2; fp_die "pgbench failed"; }
  after="$(count_pg)"
  awk -v a="$after" -v b="$before" -v s="$ingest_s" 'BEGIN { printf "%.0f", (a - b) / s }'
}

pg_single=n/a fp_single=n/a pg_batch=n/a fp_batch=n/a fp_single_err="" fp_batch_err=""
if part ingest; then
  fp_say "ingest, 1 signal per request: pgbench baseline, then fleetprompt (${ingest_s}s each)"
  pg_single="$(ingest_pg pgbench_single.sql 1)"
  read -r fp_single fp_single_err < <(ingest_fp 1)
  fp_say "ingest, 100 signals per request: pgbench baseline, then fleetprompt"
  pg_batch="$(ingest_pg pgbench_batch.sql 100)"
  read -r fp_batch fp_batch_err < <(ingest_fp 100)
fi

# -- 3: jobs ----------------------------------------------------------------------
for f in fp-drain fp-idle fp-load gw-drain gw-idle gw-load graphile.out sse; do
  : >"$work/$f"
done
if part jobs; then
  jobs_driver="$FP_BUILD_DIR/bench/spine_jobs"
  fp_say "jobs: fleetprompt drains $jobs no-op jobs, then idle and ${load_rate}/s latency"
  # A part that fails is reported as such; the other parts still run.
  jobs_run() { # jobs_run OUT ARGS...
    local out="$1"
    shift
    "$jobs_driver" "$db_url" "$@" >"$work/$out" || { fp_say "jobs: $* failed"; : >"$work/$out"; }
  }
  jobs_run fp-drain fp bulk "$jobs" drain
  if [ -s "$work/fp-drain" ]; then
    jobs_run fp-idle fp offer "$idle_rate" "$idle_s" idle 1 1
    jobs_run fp-load fp offer "$load_rate" "$load_s" load 10 4
  else
    : >"$work/fp-idle"
    : >"$work/fp-load"
  fi

  fp_say "jobs: graphile-worker (local queue 500, batched completion), same jobs"
  (cd "$spine/graphile" && exec node run.mjs "$db_url" 24 500) \
    >"$work/graphile.out" 2>"$work/graphile.err" &
  graphile_pid=$!
  for _ in $(seq 1 300); do
    grep -q '^ready' "$work/graphile.out" && break
    kill -0 "$graphile_pid" 2>/dev/null || { cat "$work/graphile.err" >&2; fp_die "graphile-worker exited"; }
    sleep 0.1
  done
  grep -q '^ready' "$work/graphile.out" || fp_die "graphile-worker did not start"
  jobs_run gw-drain graphile bulk "$jobs" drain
  jobs_run gw-idle graphile offer "$idle_rate" "$idle_s" idle 1 1
  jobs_run gw-load graphile offer "$load_rate" "$load_s" load 10 4
  # Its report lines come when the last job of a tag has started.
  for _ in $(seq 1 100); do
    grep -q '"tag":"load"' "$work/graphile.out" && break
    sleep 0.1
  done
  kill -TERM "$graphile_pid" 2>/dev/null || true
  wait "$graphile_pid" 2>/dev/null || true
  graphile_pid=""
fi

# gw_stat TAG FIELD: from graphile-worker's report line of TAG
gw_stat() {
  local line
  line="$(grep "\"tag\":\"$1\"" "$work/graphile.out" || true)"
  [ -n "$line" ] || { echo "n/a"; return; }
  python3 -c 'import json,sys; print("%.3f" % json.loads(sys.argv[1])[sys.argv[2]])' "$line" "$2"
}
fp_jobs_s="$(value jobs_per_s "$work/fp-drain")"
gw_jobs_s="$(value jobs_per_s "$work/gw-drain")"
fp_idle="$(value p50_ms "$work/fp-idle") / $(value p99_ms "$work/fp-idle")"
fp_load="$(value p50_ms "$work/fp-load") / $(value p99_ms "$work/fp-load")"
gw_idle="$(gw_stat idle p50_ms) / $(gw_stat idle p99_ms)"
gw_load="$(gw_stat load p50_ms) / $(gw_stat load p99_ms)"
fp_load_p99="$(value p99_ms "$work/fp-load")"
gw_load_p99="$(gw_stat load p99_ms)"

# -- 4: SSE fan-out ---------------------------------------------------------------
if part sse; then
  fp_say "SSE: $subscribers subscribers, one signal every 10 ms for ${sse_s}s"
  "$FP_BUILD_DIR/bench/spine_sse_fanout" 127.0.0.1 "$fp_port" "$key" "$fp_pid" \
    "$subscribers" "$sse_s" 10 >"$work/sse" || { fp_say "SSE: the client failed"; : >"$work/sse"; }
fi

# -- report -----------------------------------------------------------------------
report() {
  echo
  echo "Spine benchmark: $(nproc) cores, PostgreSQL 15 embedded (fsync=on, synchronous_commit=on), loopback"
  echo "wrk -t$threads -c$connections -d${ingest_s}s vs pgbench -c$pgbench_clients -j$threads -T${ingest_s} -M prepared; figures are rows counted in the database / s"
  echo
  printf '%-44s %14s %14s %8s  %s\n' "measure" "fleetprompt" "baseline" "ratio" "target"
  printf '%-44s %14s %14s %8s  %s\n' "ingest 1/request, signals/s (pgbench 1/tx)" \
    "$fp_single" "$pg_single" "$(ratio "$fp_single" "$pg_single")" ">= 2x"
  printf '%-44s %14s %14s %8s  %s\n' "ingest 100/request, signals/s (pgbench 100/tx)" \
    "$fp_batch" "$pg_batch" "$(ratio "$fp_batch" "$pg_batch")" ">= 0.6x"
  printf '%-44s %14s %14s %8s  %s\n' "jobs: drain $jobs no-op, jobs/s (graphile)" \
    "$fp_jobs_s" "$gw_jobs_s" "$(ratio "$fp_jobs_s" "$gw_jobs_s")" ">= 1.5x"
  printf '%-44s %14s %14s %8s  %s\n' "jobs: idle latency p50 / p99 ms" "$fp_idle" "$gw_idle" "" ""
  printf '%-44s %14s %14s %8s  %s\n' "jobs: ${load_rate}/s latency p50 / p99 ms" "$fp_load" "$gw_load" \
    "$(ratio "$fp_load_p99" "$gw_load_p99")" "p99 lower (< 1x)"
  printf '%-44s %14s %14s %8s  %s\n' "SSE: $(value subscribers "$work/sse") subscribers, p50 / p99 ms" \
    "$(value p50_ms "$work/sse") / $(value p99_ms "$work/sse")" "" "" "p99 < 50 ms"
  printf '%-44s %14s %14s %8s  %s\n' "SSE: server KiB per subscriber" \
    "$(value kib_per_subscriber "$work/sse")" "" "" "< 64 KiB"
  echo
  echo "ingest HTTP errors: 1/request: ${fp_single_err:-0}; 100/request: ${fp_batch_err:-0}"
  echo "jobs offered: fleetprompt $(value offered_per_s "$work/fp-load")/s ($(value late_transactions "$work/fp-load") late transactions), graphile $(value offered_per_s "$work/gw-load")/s ($(value late_transactions "$work/gw-load") late)"
  echo "SSE: deliveries $(value deliveries "$work/sse") of $(value deliveries_expected "$work/sse"), gaps $(value gaps "$work/sse"), duplicates $(value duplicates "$work/sse"), disconnected $(value disconnected "$work/sse"), refused $(value refused "$work/sse"), max $(value max_ms "$work/sse") ms, emit failures $(value emit_failed "$work/sse")"
  echo "SSE: server RSS $(value rss_before_kib "$work/sse") KiB idle, $(value rss_connected_kib "$work/sse") KiB connected, $(value rss_peak_kib "$work/sse") KiB peak while streaming; connect took $(value connect_seconds "$work/sse") s; cores busy while streaming: server $(value server_cores "$work/sse"), client $(value client_cores "$work/sse")"
  echo "latency: jobs = attempted_at - created_at (fleetprompt) / task start - created_at (graphile-worker, concurrency 24, local queue 500, completeJobBatchDelay 0); SSE = receipt - emit time in the payload"
  echo "command: $command_line"
}
report | tee "$work/report.txt"
