#!/usr/bin/env bash
# Agent benchmark: agents triggered by signals emitted over HTTP, on the
# server's embedded PostgreSQL (fsync and synchronous_commit on), local
# provider (deterministic, no network):
#   1. memory per idle agent actor: server RSS before and after making
#      AGENTS agent actors resident (one triggered execution each), after a
#      warm-up on separate agents so allocator and pool growth is not
#      counted, divided by AGENTS;
#   2. drain: DRAIN signals emitted in batches of 100 over the AGENTS agents
#      (one agent per signal type); executions/s = executions finished /
#      (last finished_at - first trigger signal's recorded_at);
#   3. latency: RATE signals/s offered for LOAD_S seconds, one per request;
#      p50/p99 of the execution's finished_at - its trigger signal's
#      recorded_at, taken from the database.
#
# Usage: bench/agents.sh [AGENTS] [DRAIN] [RATE] [LOAD_S]
#        (defaults 1000, 20000, 500, 10)
# Runs on FP_BUILD_DIR's binaries (default build/); FP_SKIP_BUILD=1 skips
# building them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

agents="${1:-1000}"
drain="${2:-20000}"
rate="${3:-500}"
load_s="${4:-10}"
warm_agents=100
warm_signals=2000
driver="$FP_ROOT/bench/agents/driver.py"
command_line="bench/agents.sh $agents $drain $rate $load_s"

fp_require_packages postgresql-15 postgresql-client-15 curl python3
if [ "${FP_SKIP_BUILD:-}" != 1 ]; then
  "$FP_ROOT/scripts/setup.sh"
  FP_BUILD_TARGET=fleetprompt "$FP_ROOT/scripts/build.sh"
fi
fp_bin="$FP_BUILD_DIR/app/fleetprompt"
[ -x "$fp_bin" ] || fp_die "no server binary at $fp_bin (build it, or set FP_BUILD_DIR)"

source "$FP_ROOT/bench/lib.sh"
bench_init agents
start_server
create_bench_org '["read","write","admin"]'

# -- agents -------------------------------------------------------------------------
# "bench" agents are measured; "warm" agents take the warm-up.
fp_say "creating $agents benchmark agents and $warm_agents warm-up agents"
python3 "$driver" create "$base" "$key" bench 0 "$agents" >"$work/create-bench" \
  || fail_with_log "creating agents failed: $(cat "$work/create-bench")"
python3 "$driver" create "$base" "$key" warm 0 "$warm_agents" >"$work/create-warm" \
  || fail_with_log "creating warm-up agents failed"

# finished TAG: executions finished for the signals of TAG
finished() {
  sql "SELECT count(*) FROM org_bench.executions e JOIN org_bench.signals s
       ON s.id = e.trigger_signal_id
       WHERE s.payload->>'tag' = '$1' AND e.finished_at IS NOT NULL"
}
# wait_finished TAG N TIMEOUT_S: waits until N executions of TAG finished
wait_finished() {
  local deadline=$((SECONDS + $3)) n=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    n="$(finished "$1")"
    [ "$n" -ge "$2" ] && return 0
    # Rarely: the count scans every execution, and the server shares the
    # cores (the figures come from timestamps, not from this loop).
    sleep 1
  done
  fp_say "$1: only $n of $2 executions finished within $3 s"
  return 1
}
# outcome TAG: "succeeded failed other" counts of TAG's executions
outcome() {
  sql "SELECT count(*) FILTER (WHERE e.status = 'succeeded') || ' ' ||
              count(*) FILTER (WHERE e.status = 'failed') || ' ' ||
              count(*) FILTER (WHERE e.status NOT IN ('succeeded', 'failed'))
       FROM org_bench.executions e JOIN org_bench.signals s
       ON s.id = e.trigger_signal_id WHERE s.payload->>'tag' = '$1'"
}

# -- 1: memory per idle agent actor -------------------------------------------------
fp_say "warm-up: $warm_signals executions on $warm_agents other agents"
python3 "$driver" emit "$base" "$key" warm 0 "$warm_agents" "$warm_signals" warm 100 \
  >"$work/emit-warm" || fail_with_log "warm-up emit failed"
wait_finished warm "$warm_signals" 120 || fail_with_log "the warm-up did not finish"
sleep 2
rss_before="$(rss_kib)"
fp_say "making $agents agent actors resident (one execution each)"
python3 "$driver" emit "$base" "$key" bench 0 "$agents" "$agents" resident 100 \
  >"$work/emit-resident" || fail_with_log "resident emit failed"
resident_ok=1
wait_finished resident "$agents" 120 || resident_ok=0
sleep 2
rss_after="$(rss_kib)"
kib_per_agent="$(awk -v a="$rss_after" -v b="$rss_before" -v n="$agents" \
  'BEGIN { printf "%.2f", (a - b) / n }')"
[ "$resident_ok" = 1 ] || kib_per_agent="n/a"

# -- 2: drain -------------------------------------------------------------------------
fp_say "drain: $drain signals over $agents agents, 100 per request"
drain_start=$SECONDS
# Diagnostics: committed transactions in the database (read-only ones too;
# statistics are flushed within a second, hence the pause before reading)
# and server CPU time per execution.
xacts() {
  sleep 1
  sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$fp_pid/stat"; }
xacts_before="$(xacts)"
cpu_before="$(cpu_ticks)"
python3 "$driver" emit "$base" "$key" bench 0 "$agents" "$drain" drain 100 \
  >"$work/emit-drain" || fp_say "drain emit reported failures"
emitted_drain="$(value emitted "$work/emit-drain")"
drain_ok=1
wait_finished drain "$emitted_drain" 600 || drain_ok=0
drain_wall=$((SECONDS - drain_start))
xacts_per_exec="$(awk -v a="$(xacts)" -v b="$xacts_before" -v n="$emitted_drain" \
  'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }')"
cpu_ms_per_exec="$(awk -v a="$(cpu_ticks)" -v b="$cpu_before" -v n="$emitted_drain" \
  -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.2f", (a - b) * 1000 / hz / n; else print "n/a" }')"
sql "SELECT count(*), round((extract(epoch FROM max(e.finished_at) - min(s.recorded_at)))::numeric, 3)
     FROM org_bench.executions e JOIN org_bench.signals s ON s.id = e.trigger_signal_id
     WHERE s.payload->>'tag' = 'drain' AND e.finished_at IS NOT NULL" \
  | tr '|' ' ' >"$work/drain"
read -r drain_n drain_span <"$work/drain"
exec_per_s="$(awk -v n="$drain_n" -v s="$drain_span" \
  'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }')"
[ "$drain_ok" = 1 ] || exec_per_s="n/a (unfinished)"

# -- 3: latency at RATE/s offered -----------------------------------------------------
fp_say "latency: $rate signals/s offered for ${load_s}s, one per request"
python3 "$driver" offer "$base" "$key" bench "$agents" "$rate" "$load_s" load \
  >"$work/offer" || fp_say "the offered load reported failures"
offered_ok="$(awk '$1 == "offered_per_s" { print int($2 * '"$load_s"' + 0.5) }' "$work/offer")"
# Every accepted signal must finish; count what the server accepted.
accepted="$(sql "SELECT count(*) FROM org_bench.signals WHERE payload->>'tag' = 'load'")"
wait_finished load "$accepted" 300 || true
sql "SELECT round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.finished_at - s.recorded_at)))::numeric, 1),
            round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM e.finished_at - s.recorded_at)))::numeric, 1),
            round((1000 * max(extract(epoch FROM e.finished_at - s.recorded_at)))::numeric, 1),
            round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM e.started_at - s.recorded_at)))::numeric, 1)
     FROM org_bench.executions e JOIN org_bench.signals s ON s.id = e.trigger_signal_id
     WHERE s.payload->>'tag' = 'load' AND e.finished_at IS NOT NULL" \
  | tr '|' ' ' >"$work/latency"
read -r lat_p50 lat_p99 lat_max start_p99 <"$work/latency"

# -- report -----------------------------------------------------------------------
verdict() { # verdict VALUE OP LIMIT
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v !~ /^-?[0-9.]+$/) { print "n/a"; exit }
    ok = (op == ">=") ? (v >= l) : (v < l); print ok ? "met" : "MISSED" }'
}
report() {
  echo
  echo "Agent benchmark: $(nproc) cores, PostgreSQL 15 embedded (fsync=on, synchronous_commit=on), loopback, local provider"
  echo "$agents agents, one signal type each; signals over HTTP; times from the database (finished_at - trigger recorded_at)"
  echo
  printf '%-52s %14s  %-12s %s\n' "measure" "fleetprompt" "target" "verdict"
  printf '%-52s %14s  %-12s %s\n' "drain: $drain_n triggered executions, executions/s" \
    "$exec_per_s" ">= 2000" "$(verdict "$exec_per_s" ">=" 2000)"
  printf '%-52s %14s  %-12s %s\n' "latency at ${rate}/s offered, p50 ms" "$lat_p50" "" ""
  printf '%-52s %14s  %-12s %s\n' "latency at ${rate}/s offered, p99 ms" "$lat_p99" "< 100" \
    "$(verdict "$lat_p99" "<" 100)"
  printf '%-52s %14s  %-12s %s\n' "memory per idle agent actor, KiB" "$kib_per_agent" "< 8" \
    "$(verdict "$kib_per_agent" "<" 8)"
  echo
  echo "drain: $drain_n of $emitted_drain finished in ${drain_span}s (wall ${drain_wall}s incl. emitting and polling); outcomes (succeeded failed other): $(outcome drain)"
  echo "drain: $xacts_per_exec committed transactions and $cpu_ms_per_exec ms of server CPU (fleetprompt process, not PostgreSQL) per execution"
  echo "latency: offered $(value offered_per_s "$work/offer")/s, $(value late_requests "$work/offer") requests started late, $(value errors "$work/offer") HTTP errors, $accepted signals accepted; outcomes: $(outcome load); max $lat_max ms; p99 signal-to-start $start_p99 ms"
  echo "memory: server RSS $rss_before KiB after the warm-up, $rss_after KiB with $agents more agent actors resident ($(finished resident) of $agents executions finished)"
  echo "command: $command_line"
}
report | tee "$work/report.txt"
