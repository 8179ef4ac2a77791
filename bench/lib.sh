# Shared by the benchmarks that run a real `fleetprompt serve` on its
# embedded PostgreSQL (fsync and synchronous_commit on): the scratch
# directory and where raw outputs are kept, starting and stopping the
# server, and an organization "bench" with an API key. Source it after
# scripts/lib.sh, with fp_bin set, then call bench_init NAME.

pg_bin=/usr/lib/postgresql/15/bin

# bench_init NAME: a scratch directory ($work) and the results directory
# bench/results/NAME-<time>/ that receives its files on exit.
bench_init() {
  work="$(mktemp -d "/tmp/fp-bench-$1.XXXXXX")"
  # The embedded cluster may run as an unprivileged user (when started as root).
  chmod 755 "$work"
  fp_pid=""
  results="$FP_ROOT/bench/results/$1-$(date -u +%Y%m%dT%H%M%SZ)"
  trap bench_cleanup EXIT
}

# stop_server: SIGTERM, then SIGKILL after 20 s (a hung shutdown must not
# hang the benchmark); a killed server leaves its embedded PostgreSQL
# running, which is then stopped (fast shutdown) through its postmaster pid.
stop_server() {
  [ -n "$fp_pid" ] || return 0
  kill -TERM "$fp_pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$fp_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$fp_pid" 2>/dev/null; then
    fp_say "fleetprompt did not stop within 20 s of SIGTERM; killing it"
    echo "shutdown: did not stop within 20 s of SIGTERM (killed)" >>"$work/fleetprompt.log"
    kill -KILL "$fp_pid" 2>/dev/null || true
  fi
  wait "$fp_pid" 2>/dev/null || true
  fp_pid=""
  local pm="$work/data/postgres/data/postmaster.pid"
  if [ -f "$pm" ]; then
    local pg_pid
    pg_pid="$(head -n1 "$pm")"
    kill -INT "$pg_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pg_pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
}

bench_cleanup() {
  stop_server
  mkdir -p "$results"
  find "$work" -maxdepth 1 -type f ! -name password ! -name cookies \
    -exec cp {} "$results/" \; 2>/dev/null || true
  rm -rf "$work"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
json_field() { # json_field FIELD < json
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# value NAME FILE: the value of a "name value" line
value() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "n/a" : v) }' "$2"; }
fail_with_log() {
  echo "--- server log (tail) ---" >&2
  tail -n 30 "$work/fleetprompt.log" >&2 || true
  fp_die "$1"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$fp_pid/status"; }

# start_server [FLAGS...]: serves on a free loopback port ($base) with its
# data in $work/data; waits for /readyz; sets db_url and sql().
start_server() {
  fp_port="$(free_port)"
  base="http://127.0.0.1:$fp_port"
  fp_say "starting fleetprompt on $base"
  "$fp_bin" serve --data-dir "$work/data" --listen "127.0.0.1:$fp_port" \
    --log-level warn "$@" >"$work/fleetprompt.log" 2>&1 &
  fp_pid=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
    kill -0 "$fp_pid" 2>/dev/null || fail_with_log "fleetprompt exited"
    sleep 0.1
  done
  curl -fsS -o /dev/null "$base/readyz" || fail_with_log "fleetprompt is not ready"
  db_url="postgresql://fleetprompt:$(tr -d '\n' <"$work/data/postgres/password")@127.0.0.1:$(tr -d '\n' <"$work/data/postgres/port")/fleetprompt"
  [ "$(sql 'SHOW synchronous_commit')" = on ] || fp_die "synchronous_commit is not on"
  [ "$(sql 'SHOW fsync')" = on ] || fp_die "fsync is not on"
}
sql() { "$pg_bin/psql" -Atq -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }

# create_bench_org SCOPES_JSON: user bench@example.com (platform admin),
# organization "bench" and an API key with SCOPES_JSON (e.g.
# '["read","write","admin"]') in $key.
create_bench_org() {
  fp_say "creating the benchmark organization and API key"
  printf 'bench-password-%s\n' "$RANDOM$RANDOM" >"$work/password"
  "$fp_bin" user create --data-dir "$work/data" --email bench@example.com \
    --password-file "$work/password" --platform-admin >/dev/null
  "$fp_bin" org create --data-dir "$work/data" --slug bench --name Bench \
    --owner bench@example.com >/dev/null
  local jar="$work/cookies" login csrf
  login="$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"password\":\"$(head -n1 "$work/password")\"}" \
    "$base/api/v1/session")"
  csrf="$(json_field csrf_token <<<"$login")"
  curl -fsS -b "$jar" -o /dev/null -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $csrf" -d '{"org":"bench"}' "$base/api/v1/session/org"
  key="$(curl -fsS -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
    -d "{\"name\":\"bench\",\"scopes\":$1}" "$base/api/v1/api-keys" | json_field key)"
}
