#!/usr/bin/env bash
# Package benchmark on the server's embedded PostgreSQL (fsync and
# synchronous_commit on), over loopback HTTP:
#   1. publish: PUBLISH versions of the support-triage manifest (renamed
#      bench/published) posted one after another; versions/s;
#   2. install + uninstall: CYCLES sequential cycles of
#      fleetprompt/support-triage (config, a sealed credential, granted
#      permissions; the installer creates its skill, agent, subscription
#      and webhook destination, uninstall removes them); p50/p99 of
#      requested -> installed and uninstalling -> uninstalled, taken from
#      the installations' recorded transitions.
#
# Usage: bench/packages.sh [PUBLISH] [CYCLES]   (defaults 200, 100)
# Runs on FP_BUILD_DIR's binaries (default build/); FP_SKIP_BUILD=1 skips
# building them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

publish_n="${1:-200}"
cycles_n="${2:-100}"
driver="$FP_ROOT/bench/packages/driver.py"
command_line="bench/packages.sh $publish_n $cycles_n"

fp_require_packages postgresql-15 postgresql-client-15 curl python3
if [ "${FP_SKIP_BUILD:-}" != 1 ]; then
  "$FP_ROOT/scripts/setup.sh"
  FP_BUILD_TARGET=fleetprompt "$FP_ROOT/scripts/build.sh"
fi
fp_bin="$FP_BUILD_DIR/app/fleetprompt"
[ -x "$fp_bin" ] || fp_die "no server binary at $fp_bin (build it, or set FP_BUILD_DIR)"

source "$FP_ROOT/bench/lib.sh"
bench_init packages
start_server
create_bench_org '["read","write","admin","publish"]'

# -- 1: publish -------------------------------------------------------------------------
triage="$FP_ROOT/examples/packages/support-triage/fleetprompt.package.json"
fp_say "publishing $publish_n versions over HTTP"
python3 "$driver" publish "$base" "$key" "$triage" "$publish_n" >"$work/publish" \
  || fail_with_log "publishing failed"

# -- 2: install + uninstall cycles ------------------------------------------------------------
"$fp_bin" package publish --data-dir "$work/data" "$triage" >/dev/null \
  || fail_with_log "cannot publish support-triage"
fp_say "$cycles_n install + uninstall cycles of fleetprompt/support-triage"
python3 "$driver" cycles "$base" "$key" "$cycles_n" >"$work/cycles" \
  || fail_with_log "the cycles failed"
# phase FROM TO: "p50 p99" in ms between the transitions into FROM and TO
phase() {
  sql "WITH t AS (
         SELECT installation_id,
                min(at) FILTER (WHERE to_state = '$1') AS a,
                min(at) FILTER (WHERE to_state = '$2') AS b
         FROM org_bench.installation_transitions GROUP BY installation_id)
       SELECT round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b - a)))::numeric, 1),
              round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM b - a)))::numeric, 1)
       FROM t WHERE a IS NOT NULL AND b IS NOT NULL" | tr '|' ' '
}
read -r install_p50 install_p99 <<<"$(phase requested installed)"
read -r uninstall_p50 uninstall_p99 <<<"$(phase uninstalling uninstalled)"
leftover="$(sql "SELECT (SELECT count(*) FROM org_bench.agents) + (SELECT count(*) FROM org_bench.skills)
                 + (SELECT count(*) FROM org_bench.credentials)
                 + (SELECT count(*) FROM org_bench.webhook_destinations)")"

report() {
  echo
  echo "Package benchmark: $(nproc) cores, PostgreSQL 15 embedded (fsync=on, synchronous_commit=on), loopback HTTP"
  echo
  printf '%-58s %12s\n' "measure" "fleetprompt"
  printf '%-58s %12s\n' "publish: versions/s (one request at a time)" "$(value publish_per_s "$work/publish")"
  printf '%-58s %12s\n' "install requested -> installed, p50 ms" "$install_p50"
  printf '%-58s %12s\n' "install requested -> installed, p99 ms" "$install_p99"
  printf '%-58s %12s\n' "uninstall uninstalling -> uninstalled, p50 ms" "$uninstall_p50"
  printf '%-58s %12s\n' "uninstall uninstalling -> uninstalled, p99 ms" "$uninstall_p99"
  printf '%-58s %12s\n' "install + uninstall cycles/s (client polls every 5 ms)" "$(value cycles_per_s "$work/cycles")"
  echo
  echo "publish: $(value published "$work/publish") versions, $(value errors "$work/publish") errors; cycles: $(value cycles "$work/cycles") done, $(value failed "$work/cycles") failed; rows left behind by uninstall: $leftover"
  echo "command: $command_line"
}
report | tee "$work/report.txt"
