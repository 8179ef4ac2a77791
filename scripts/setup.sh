#!/usr/bin/env bash
# Installs everything the build, the server and the tests need from Debian's
# packages. Safe to run again: it installs only what is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fp_require_packages \
  g++ cmake ninja-build ccache pkg-config git ca-certificates \
  libcaf-dev libboost1.81-dev libsimdjson-dev libpq-dev libssl-dev catch2 \
  postgresql-15 postgresql-client-15 acl
