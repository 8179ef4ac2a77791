#!/usr/bin/env bash
# Configures (once) and builds the project into build/ (FP_BUILD_DIR).
# Extra arguments are passed to CMake's configure step; FP_BUILD_TARGET
# limits the build to one target (default: everything).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

jobs="$(nproc)"
if [ ! -f "$FP_BUILD_DIR/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S "$FP_ROOT" -B "$FP_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE="${FP_BUILD_TYPE:-Release}" "$@" >/dev/null
fi
fp_say "building in $FP_BUILD_DIR with $jobs jobs"
cmake --build "$FP_BUILD_DIR" -j "$jobs" ${FP_BUILD_TARGET:+--target "$FP_BUILD_TARGET"}
