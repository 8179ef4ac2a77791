#!/usr/bin/env bash
# Builds the operator console (web/) into web/dist with its locked npm
# packages, unless dist is already newer than every source file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

web="$FP_ROOT/web"
fp_npm_ci "$web"
manifest="$web/dist/.vite/manifest.json"
if [ -f "$manifest" ] && [ -z "$(find "$web/src" "$web/package-lock.json" \
     "$web/vite.config.js" -newer "$manifest" -print -quit)" ]; then
  exit 0
fi
fp_say "building the console in web/dist"
(cd "$web" && npx --no-install vite build --logLevel warn)
