#!/usr/bin/env bash
# Runs every test: installs missing packages, builds with warnings as errors,
# then runs the unit tests and the PostgreSQL/HTTP tests (each PostgreSQL
# test executable starts its own private cluster on a loopback port).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$FP_ROOT/scripts/setup.sh"
# The browser tests drive Debian's chromium through playwright-core.
fp_require_packages chromium
"$FP_ROOT/scripts/build.sh" -DFP_WERROR=ON -DFP_BUILD_TESTS=ON
"$FP_ROOT/scripts/build_web.sh"
fp_npm_ci "$FP_ROOT/tests/js"
fp_say "running tests"
cd "$FP_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900
