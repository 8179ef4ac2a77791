#!/usr/bin/env bash
# Tenancy benchmark: creating organizations through the full saga (row,
# schema, tenant tables, owner, active), applying one new tenant migration
# across all of them (settings defaults: batches of 50, 4 at once), and the
# resident memory of live tenant actors (RSS difference / actors). Runs on a
# private embedded PostgreSQL in a temporary directory, or on
# FLEETPROMPT_DATABASE_URL when set.
# Usage: bench/tenancy.sh [ORGS] [ACTORS]   (defaults 1000 and 10000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

orgs="${1:-1000}"
actors="${2:-10000}"

"$FP_ROOT/scripts/setup.sh"
FP_BUILD_TARGET=tenancy_bench "$FP_ROOT/scripts/build.sh"

work="$(mktemp -d /tmp/fp-bench-tenancy.XXXXXX)"
# The embedded cluster may run as an unprivileged user (when started as root).
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

"$FP_BUILD_DIR/bench/tenancy_bench" "$work/data" "$orgs" "$actors"
