#!/usr/bin/env bash
# Runs the product on a fresh machine: installs missing packages, builds,
# then serves on 127.0.0.1 with an embedded private PostgreSQL inside .data/
# (unless --database-url / FLEETPROMPT_DATABASE_URL names one). The server
# applies pending migrations at start. Arguments go to `fleetprompt serve`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$FP_ROOT/scripts/setup.sh"
FP_BUILD_TARGET=fleetprompt "$FP_ROOT/scripts/build.sh"
"$FP_ROOT/scripts/build_web.sh"
cd "$FP_ROOT"
exec "$FP_BUILD_DIR/app/fleetprompt" serve "$@"
