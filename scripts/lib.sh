# Shared helpers for the project's scripts (sourced, not run).

# Root of the repository, whatever the caller's directory.
FP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FP_BUILD_DIR="${FP_BUILD_DIR:-$FP_ROOT/build}"

fp_say() { printf '==> %s\n' "$*" >&2; }
fp_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
fp_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# fp_require_packages PKG... : installs the Debian packages that are missing.
fp_require_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  fp_say "installing Debian packages: ${missing[*]}"
  fp_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fp_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# fp_npm_ci DIR : installs DIR's locked npm packages (from the npm registry)
# unless node_modules is already up to date with the lockfile.
fp_npm_ci() {
  local dir="$1"
  [ -f "$dir/package-lock.json" ] || return 0
  command -v npm >/dev/null 2>&1 || fp_require_packages nodejs npm
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
     || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    fp_say "installing npm packages in ${dir#"$FP_ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
}
